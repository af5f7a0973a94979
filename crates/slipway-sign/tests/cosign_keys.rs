//! Encrypted private keys written by cosign and by sigstore-rs open here, sign, and refuse a
//! wrong passphrase.

use slipway_sign::keyfile::read_signing_key;
use slipway_sign::{Algorithm, Error, Passphrase};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn key_generated_by_cosign_opens_and_signs() {
    let path = fixture("cosign-generated-empty-passphrase.key");
    let key = read_signing_key(&path, &Passphrase::new(String::new())).unwrap();
    assert_eq!(key.algorithm(), Algorithm::EcdsaP256Sha256);
    let signature = key.sign(b"blob");
    key.public_key().verify(b"blob", &signature).unwrap();

    let wrong = read_signing_key(&path, &Passphrase::new("x".into())).unwrap_err();
    assert!(matches!(wrong, Error::WrongPassphrase { .. }), "{wrong}");
}

#[test]
fn key_with_the_older_cosign_label_opens_and_signs() {
    let path = fixture("cosign-label-passphrase-123.key");
    let key = read_signing_key(&path, &Passphrase::new("123".into())).unwrap();
    assert_eq!(key.algorithm(), Algorithm::EcdsaP256Sha256);
    let signature = key.sign(b"blob");
    key.public_key().verify(b"blob", &signature).unwrap();

    let wrong = read_signing_key(&path, &Passphrase::new("124".into())).unwrap_err();
    assert!(
        wrong
            .to_string()
            .ends_with("wrong passphrase or corrupt key file (hint: check the passphrase in SLIPWAY_KEY_PASSPHRASE, or regenerate the key)"),
        "{wrong}"
    );
}
