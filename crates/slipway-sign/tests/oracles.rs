//! What this crate writes, checked by other implementations run as real processes:
//! securesystemslib (DSSE), in-toto-attestation (Statement v1), @sigstore/verify (key-based
//! bundles), sigstore-python's bundle models, OpenSSL (blob signatures) and an independent
//! implementation of cosign's encrypted key format (pyca/cryptography scrypt + PyNaCl
//! secretbox). Every check also feeds the oracle a flipped byte and expects a rejection.
//!
//! The oracles come from `scripts/deps/sign.sh`. When one is missing the test fails if `CI` is
//! `true`, and otherwise prints a `skipped:` notice and returns.

use serde_json::json;
use sha2::{Digest as _, Sha256};
use slipway_sign::intoto::{self, ResourceDescriptor};
use slipway_sign::keyfile::{self, read_signing_key, write_key_pair};
use slipway_sign::{Algorithm, Bundle, Error, Passphrase, PublicKey, SigningKey, Statement, dsse};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use wait_timeout::ChildExt as _;

const ORACLE_TIMEOUT: Duration = Duration::from_secs(120);
const BUILDER_ID: &str = "https://slipway.dev/builders/local/v1";
const ALGORITHMS: [Algorithm; 2] = [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tools_dir() -> PathBuf {
    // The deps scripts install into the target directory, wherever cargo puts it.
    std::env::var_os("SLIPWAY_TEST_TOOLS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|dir| PathBuf::from(dir).join("test-tools"))
        })
        .unwrap_or_else(|| workspace().join("target/test-tools"))
}

fn oracle_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/oracles")
        .join(name)
}

/// `Some(value)` when the tool is there; otherwise fails under CI, or skips with a notice.
fn require<T>(tool: &str, found: Option<T>) -> Option<T> {
    if found.is_some() {
        return found;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{tool} not installed (run scripts/deps/install.sh)");
    }
    eprintln!("skipped: {tool} not installed (run scripts/deps/install.sh)");
    None
}

/// The test venv's Python, when it can import every module of `modules`.
fn python_with(modules: &[&str]) -> Option<PathBuf> {
    let python = tools_dir().join("venv/bin/python");
    let imports = format!("import {}", modules.join(", "));
    let found = python.exists() && run(Command::new(&python).args(["-c", &imports])).passed;
    require(
        &format!("python packages {}", modules.join(", ")),
        found.then_some(python),
    )
}

/// `node` and the node_modules directory holding @sigstore/verify.
fn node_with_sigstore_verify() -> Option<(PathBuf, PathBuf)> {
    let modules = tools_dir().join("node/node_modules");
    let found = modules.join("@sigstore/verify/package.json").exists()
        && run(Command::new("node").arg("--version")).passed;
    require(
        "npm package @sigstore/verify",
        found.then(|| (PathBuf::from("node"), modules)),
    )
}

fn openssl() -> Option<PathBuf> {
    let found = run(Command::new("openssl").arg("version")).passed;
    require("openssl", found.then(|| PathBuf::from("openssl")))
}

struct Outcome {
    passed: bool,
    output: String,
}

/// Runs an oracle to completion under [`ORACLE_TIMEOUT`]; a process that cannot start is a
/// failed outcome, one that hangs is killed and fails the test.
fn run(command: &mut Command) -> Outcome {
    let output_dir = tempfile::tempdir().unwrap();
    let stdout_path = output_dir.path().join("stdout");
    let stderr_path = output_dir.path().join("stderr");
    let spawned = command
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            return Outcome {
                passed: false,
                output: format!("cannot start {command:?}: {error}"),
            };
        }
    };
    let status = match child.wait_timeout(ORACLE_TIMEOUT).unwrap() {
        Some(status) => status,
        None => {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{command:?} did not finish within {ORACLE_TIMEOUT:?}");
        }
    };
    let output = format!(
        "{}{}",
        std::fs::read_to_string(&stdout_path).unwrap(),
        std::fs::read_to_string(&stderr_path).unwrap()
    );
    Outcome {
        passed: status.success(),
        output,
    }
}

fn assert_passes(outcome: &Outcome, what: &str) {
    assert!(
        outcome.passed,
        "{what}: the oracle rejected it:\n{}",
        outcome.output
    );
}

/// The oracle rejected the input, for the expected `reason` (a fragment of its output, in any
/// letter case).
fn assert_fails(outcome: &Outcome, what: &str, reason: &str) {
    assert!(
        !outcome.passed,
        "{what}: the oracle accepted it:\n{}",
        outcome.output
    );
    assert!(
        outcome
            .output
            .to_lowercase()
            .contains(&reason.to_lowercase()),
        "{what}: rejected, but not for `{reason}`:\n{}",
        outcome.output
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn provenance_statement(artifact: &[u8]) -> Statement {
    Statement::new(
        vec![ResourceDescriptor::sha256(
            "app.tar.gz",
            sha256_hex(artifact),
        )],
        "https://slsa.dev/provenance/v1",
        json!({
            "buildDefinition": {
                "buildType": "https://slipway.dev/buildtypes/pipeline/v1",
                "externalParameters": {"ref": "refs/heads/main"}
            },
            "runDetails": {"builder": {"id": BUILDER_ID}}
        }),
    )
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn dsse_envelope_verifies_with_securesystemslib() {
    let Some(python) = python_with(&["securesystemslib", "cryptography"]) else {
        return;
    };
    let script = oracle_script("dsse_securesystemslib.py");
    for algorithm in ALGORITHMS {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::generate(algorithm).unwrap();
        let public = key.public_key();
        let pem = write(dir.path(), "key.pub", public.to_pem());
        let statement = provenance_statement(b"artifact");
        let envelope = dsse::sign(intoto::MEDIA_TYPE, &statement.to_json(), &key);
        let check = |envelope: &dsse::Envelope, name: &str| {
            let path = write(dir.path(), name, envelope.to_json());
            run(Command::new(&python)
                .arg(&script)
                .arg(&path)
                .arg(&pem)
                .arg(public.key_id()))
        };

        let good = check(&envelope, "good.json");
        assert_passes(&good, &format!("{algorithm} envelope"));
        let scheme = match algorithm {
            Algorithm::EcdsaP256Sha256 => "ecdsa-sha2-nistp256",
            Algorithm::Ed25519 => "ed25519",
        };
        assert!(good.output.contains(scheme), "{}", good.output);

        let mut payload_flipped = envelope.clone();
        payload_flipped.payload[40] ^= 0x01;
        assert_fails(
            &check(&payload_flipped, "payload.json"),
            "flipped payload byte",
            "not verified: VerificationError",
        );

        let mut signature_flipped = envelope.clone();
        let last = signature_flipped.signatures[0].sig.len() - 1;
        signature_flipped.signatures[0].sig[last] ^= 0x01;
        assert_fails(
            &check(&signature_flipped, "sig.json"),
            "flipped signature byte",
            "not verified: VerificationError",
        );
    }
}

#[test]
fn signed_statement_validates_with_in_toto_attestation() {
    let Some(python) = python_with(&["in_toto_attestation", "google.protobuf"]) else {
        return;
    };
    let script = oracle_script("statement_in_toto.py");
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
    let envelope = dsse::sign(
        intoto::MEDIA_TYPE,
        &provenance_statement(b"artifact").to_json(),
        &key,
    );
    let verified = envelope.verify(&[key.public_key()], 1).unwrap();
    let check = |name: &str, bytes: &[u8]| {
        let path = write(dir.path(), name, bytes);
        run(Command::new(&python).arg(&script).arg(&path))
    };

    let good = check("statement.json", &verified.payload);
    assert_passes(&good, "statement");
    assert!(
        good.output.contains("https://slsa.dev/provenance/v1"),
        "{}",
        good.output
    );

    // A flipped byte inside `_type` ("Statement/v1" becomes "Statement/w1").
    let mut flipped = verified.payload.clone();
    let at = find(&flipped, b"Statement/v1") + "Statement/".len();
    flipped[at] ^= 0x01;
    assert_fails(
        &check("type.json", &flipped),
        "flipped `_type` byte",
        "Wrong statement type",
    );

    // A flipped byte in a field name ("subject" becomes "rubject").
    let mut renamed = verified.payload.clone();
    let at = find(&renamed, b"\"subject\"") + 1;
    renamed[at] ^= 0x01;
    assert_fails(
        &check("field.json", &renamed),
        "flipped field-name byte",
        "ParseError",
    );
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
        .unwrap()
}

#[test]
fn blob_signature_verifies_with_openssl() {
    let Some(openssl) = openssl() else {
        return;
    };
    for algorithm in ALGORITHMS {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::generate(algorithm).unwrap();
        let pem = write(dir.path(), "key.pub", key.public_key().to_pem());
        let blob = b"release artifact bytes\n".to_vec();
        let signature = slipway_sign::blob::sign_blob(&key, &blob);
        let check = |blob: &[u8], signature: &[u8]| {
            let blob_path = write(dir.path(), "blob", blob);
            let signature_path = write(dir.path(), "blob.sig", signature);
            let mut command = Command::new(&openssl);
            match algorithm {
                // cosign's documented cross-check for its blob signatures.
                Algorithm::EcdsaP256Sha256 => command
                    .args(["dgst", "-sha256", "-verify"])
                    .arg(&pem)
                    .arg("-signature")
                    .arg(&signature_path)
                    .arg(&blob_path),
                Algorithm::Ed25519 => command
                    .args(["pkeyutl", "-verify", "-pubin", "-rawin", "-inkey"])
                    .arg(&pem)
                    .arg("-in")
                    .arg(&blob_path)
                    .arg("-sigfile")
                    .arg(&signature_path),
            };
            run(&mut command)
        };

        let good = check(&blob, &signature);
        assert_passes(&good, &format!("{algorithm} blob signature"));
        assert!(good.output.contains("Verified"), "{}", good.output);

        let mut blob_flipped = blob.clone();
        blob_flipped[3] ^= 0x01;
        assert_fails(
            &check(&blob_flipped, &signature),
            "flipped blob byte",
            "Verification failure",
        );

        let mut signature_flipped = signature.clone();
        let last = signature_flipped.len() - 1;
        signature_flipped[last] ^= 0x01;
        assert_fails(
            &check(&blob, &signature_flipped),
            "flipped signature byte",
            "Verification failure",
        );
    }
}

fn sigstore_verify(
    (node, modules): &(PathBuf, PathBuf),
    bundle: &Path,
    pem: &Path,
    key_id: &str,
    artifact: Option<&Path>,
) -> Outcome {
    let mut command = Command::new(node);
    command
        .env("NODE_PATH", modules)
        .arg(oracle_script("verify_sigstore.js"))
        .arg(bundle)
        .arg(pem)
        .arg(key_id);
    if let Some(artifact) = artifact {
        command.arg(artifact);
    }
    run(&mut command)
}

#[test]
fn message_signature_bundle_verifies_with_sigstore_verify() {
    let Some(node) = node_with_sigstore_verify() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
    let public = key.public_key();
    let pem = write(dir.path(), "key.pub", public.to_pem());
    let blob = b"release artifact bytes\n".to_vec();
    let bundle = Bundle::sign_blob(&key, &blob);
    let bundle_path = write(dir.path(), "blob.sigstore.json", bundle.to_json());
    let blob_path = write(dir.path(), "blob", &blob);

    let good = sigstore_verify(
        &node,
        &bundle_path,
        &pem,
        &public.key_id(),
        Some(&blob_path),
    );
    assert_passes(&good, "messageSignature bundle");
    assert!(
        good.output.contains("verified: messageSignature"),
        "{}",
        good.output
    );

    let mut blob_flipped = blob.clone();
    blob_flipped[0] ^= 0x01;
    let flipped_path = write(dir.path(), "flipped", &blob_flipped);
    let outcome = sigstore_verify(
        &node,
        &bundle_path,
        &pem,
        &public.key_id(),
        Some(&flipped_path),
    );
    assert_fails(&outcome, "flipped blob byte", "SIGNATURE_ERROR");

    let mut signature_flipped = bundle.clone();
    if let slipway_sign::bundle::Content::MessageSignature { signature, .. } =
        &mut signature_flipped.content
    {
        let last = signature.len() - 1;
        signature[last] ^= 0x01;
    }
    let flipped_bundle = write(dir.path(), "flipped.json", signature_flipped.to_json());
    let outcome = sigstore_verify(
        &node,
        &flipped_bundle,
        &pem,
        &public.key_id(),
        Some(&blob_path),
    );
    assert_fails(&outcome, "flipped signature byte", "SIGNATURE_ERROR");

    // The hint is the key id: a key registered under another name is not found.
    let outcome = sigstore_verify(&node, &bundle_path, &pem, "another-id", Some(&blob_path));
    assert_fails(&outcome, "key registered under another id", "key not found");
}

#[test]
fn dsse_bundle_verifies_with_sigstore_verify() {
    let Some(node) = node_with_sigstore_verify() else {
        return;
    };
    for algorithm in ALGORITHMS {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::generate(algorithm).unwrap();
        let public = key.public_key();
        let pem = write(dir.path(), "key.pub", public.to_pem());
        let envelope = dsse::sign(
            intoto::MEDIA_TYPE,
            &provenance_statement(b"artifact").to_json(),
            &key,
        );
        let check = |envelope: dsse::Envelope, name: &str| {
            let bundle = Bundle::from_envelope(envelope, public.key_id()).unwrap();
            let path = write(dir.path(), name, bundle.to_json());
            sigstore_verify(&node, &path, &pem, &public.key_id(), None)
        };

        let good = check(envelope.clone(), "good.json");
        assert_passes(&good, &format!("{algorithm} dsseEnvelope bundle"));
        assert!(
            good.output.contains("verified: dsseEnvelope"),
            "{}",
            good.output
        );

        let mut payload_flipped = envelope.clone();
        payload_flipped.payload[25] ^= 0x01;
        assert_fails(
            &check(payload_flipped, "payload.json"),
            "flipped payload byte",
            "SIGNATURE_ERROR",
        );

        let mut signature_flipped = envelope;
        signature_flipped.signatures[0].sig[5] ^= 0x01;
        assert_fails(
            &check(signature_flipped, "sig.json"),
            "flipped signature byte",
            "SIGNATURE_ERROR",
        );
    }
}

#[test]
fn bundles_parse_with_sigstore_python_models() {
    let Some(python) = python_with(&["sigstore_models"]) else {
        return;
    };
    let script = oracle_script("bundle_sigstore_models.py");
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
    let envelope = dsse::sign(
        intoto::MEDIA_TYPE,
        &provenance_statement(b"artifact").to_json(),
        &key,
    );
    let bundles = [
        (
            "messageSignature",
            Bundle::sign_blob(&key, b"artifact"),
            "\"messageSignature\"",
        ),
        (
            "dsseEnvelope",
            Bundle::from_envelope(envelope, key.public_key().key_id()).unwrap(),
            "\"payloadType\"",
        ),
    ];
    for (kind, bundle, field) in bundles {
        let json = bundle.to_json();
        let path = write(dir.path(), "bundle.json", &json);
        let good = run(Command::new(&python).arg(&script).arg(&path));
        assert_passes(&good, kind);
        assert!(good.output.contains(kind), "{}", good.output);
        assert!(
            good.output.contains(&key.public_key().key_id()),
            "{}",
            good.output
        );

        let mut flipped = json.into_bytes();
        let at = find(&flipped, field.as_bytes()) + 2;
        flipped[at] ^= 0x01;
        let path = write(dir.path(), "flipped.json", &flipped);
        let outcome = run(Command::new(&python).arg(&script).arg(&path));
        assert_fails(
            &outcome,
            &format!("{kind} with a flipped field-name byte"),
            "Extra inputs are not permitted",
        );
    }
}

#[test]
fn encrypted_key_opens_with_an_independent_implementation() {
    let Some(python) = python_with(&["nacl", "cryptography"]) else {
        return;
    };
    let script = oracle_script("keyfile_reference.py");
    for algorithm in ALGORITHMS {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::generate(algorithm).unwrap();
        let files = write_key_pair(
            &key,
            &Passphrase::new("s3cret pass".into()),
            &dir.path().join("slipway"),
            false,
        )
        .unwrap();
        let message = write(dir.path(), "message", b"signed by the reference");
        let open = |passphrase: &str| {
            run(Command::new(&python)
                .env(keyfile::PASSPHRASE_ENV, passphrase)
                .arg(&script)
                .args(["open"])
                .arg(&files.private_key)
                .arg(&message))
        };

        let good = open("s3cret pass");
        assert_passes(&good, &format!("{algorithm} key file"));
        let opened: serde_json::Value = serde_json::from_str(good.output.trim()).unwrap();
        let their_public = PublicKey::from_pem(opened["public_key_pem"].as_str().unwrap()).unwrap();
        assert_eq!(their_public, key.public_key());
        let signature =
            slipway_sign::blob::decode_signature(opened["signature"].as_str().unwrap()).unwrap();
        key.public_key()
            .verify(b"signed by the reference", &signature)
            .unwrap();

        assert_fails(
            &open("s3cret pasS"),
            "wrong passphrase",
            "decryption failed",
        );
    }
}

#[test]
fn key_sealed_by_an_independent_implementation_opens_here() {
    let Some(python) = python_with(&["nacl", "cryptography"]) else {
        return;
    };
    let script = oracle_script("keyfile_reference.py");
    for (algorithm, log_n) in [
        (Algorithm::EcdsaP256Sha256, "15"),
        (Algorithm::Ed25519, "15"),
        (Algorithm::EcdsaP256Sha256, "16"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reference.key");
        let sealed = run(Command::new(&python)
            .env(keyfile::PASSPHRASE_ENV, "their passphrase")
            .arg(&script)
            .arg("seal")
            .arg(&path)
            .arg(algorithm.name())
            .arg(log_n));
        assert_passes(&sealed, &format!("sealing a {algorithm} key"));
        let sealed: serde_json::Value = serde_json::from_str(sealed.output.trim()).unwrap();
        let their_public = PublicKey::from_pem(sealed["public_key_pem"].as_str().unwrap()).unwrap();

        let key = read_signing_key(&path, &Passphrase::new("their passphrase".into())).unwrap();
        assert_eq!(key.algorithm(), algorithm);
        assert_eq!(key.public_key(), their_public);
        their_public.verify(b"m", &key.sign(b"m")).unwrap();

        let wrong = read_signing_key(&path, &Passphrase::new("their passphrasf".into()));
        assert!(
            matches!(wrong, Err(Error::WrongPassphrase { .. })),
            "{wrong:?}"
        );
    }
}
