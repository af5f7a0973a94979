//! Any bytes, read as every piece of signing evidence slipway-sign parses: a DSSE envelope, a
//! Sigstore bundle, an in-toto statement, a PEM public key, an encrypted private key, a
//! signature file and a trust policy. None of them may panic; envelopes and bundles that parse
//! must also verify (or refuse) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slipway_sign::keyfile::decrypt_private_key;
use slipway_sign::{
    Algorithm, Bundle, Envelope, Passphrase, PublicKey, SigningKey, TrustPolicy, blob, intoto,
};
use std::path::Path;
use std::sync::OnceLock;

/// A verification key made once per process: only the parsing and checking paths are under
/// test, and no input can sign for it.
fn key() -> &'static PublicKey {
    static KEY: OnceLock<PublicKey> = OnceLock::new();
    KEY.get_or_init(|| match SigningKey::generate(Algorithm::EcdsaP256Sha256) {
        Ok(key) => key.public_key(),
        Err(error) => panic!("the system random number generator failed: {error}"),
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(envelope) = Envelope::from_json(data) {
        let _ = envelope.verify(std::slice::from_ref(key()), 1);
        let _ = envelope.to_json();
    }
    if let Ok(bundle) = Bundle::from_json(data) {
        let _ = bundle.verify(key(), data);
        let _ = bundle.to_json();
    }
    let _ = intoto::parse_statement(data);
    let _ = PublicKey::from_pem(&text);
    let _ = PublicKey::from_der(data);
    let _ = blob::decode_signature(&text);
    let _ = decrypt_private_key(&text, &Passphrase::new(String::new()), "fuzz.key");
    let _ = TrustPolicy::parse(&text, Path::new("trust.yml"), Path::new("/nonexistent"));
});
