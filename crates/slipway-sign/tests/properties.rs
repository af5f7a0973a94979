//! Property tests: the parsers of untrusted input never panic, signatures round-trip for any
//! payload, and any single-bit change of a payload or a signature is caught.

use proptest::prelude::*;
use slipway_sign::keyfile::decrypt_private_key;
use slipway_sign::{
    Algorithm, Bundle, Envelope, Passphrase, PublicKey, SigningKey, TrustPolicy, blob, dsse, intoto,
};
use std::path::Path;
use std::sync::OnceLock;

fn keys() -> &'static [SigningKey; 2] {
    static KEYS: OnceLock<[SigningKey; 2]> = OnceLock::new();
    KEYS.get_or_init(|| {
        [
            SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap(),
            SigningKey::generate(Algorithm::Ed25519).unwrap(),
        ]
    })
}

/// Text that looks enough like the real inputs to get past the first checks now and then.
fn structured_text() -> impl Strategy<Value = String> {
    let fragments = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "\"payload\"",
        "\"payloadType\"",
        "\"signatures\"",
        "\"sig\"",
        "\"keyid\"",
        "\"mediaType\"",
        "\"verificationMaterial\"",
        "\"publicKey\"",
        "\"hint\"",
        "\"messageSignature\"",
        "\"messageDigest\"",
        "\"dsseEnvelope\"",
        "\"algorithm\"",
        "\"SHA2_256\"",
        "\"digest\"",
        "\"signature\"",
        "\"certificate\"",
        "\"application/vnd.dev.sigstore.bundle.v0.3+json\"",
        "\"aGVsbG8=\"",
        "\"-_8\"",
        "null",
        "1",
        "\"_type\"",
        "\"subject\"",
        "\"predicateType\"",
        "\"https://in-toto.io/Statement/v1\"",
        "-----BEGIN PUBLIC KEY-----\n",
        "-----END PUBLIC KEY-----\n",
        "MFkwEwYHKoZIzj0CAQYI",
        "KoZIzj0DAQcDQgAE",
        "\n",
        " ",
        "version: 1\n",
        "builders:\n",
        "  - id: b\n",
        "    keys:\n",
        "      - pem: |\n",
        "      - path: k.pub\n",
        "&a ",
        "*a",
        "- ",
        "{}",
    ]);
    prop::collection::vec(fragments, 0..40).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = Envelope::from_json(&bytes);
        let _ = Bundle::from_json(&bytes);
        let _ = intoto::parse_statement(&bytes);
        let _ = PublicKey::from_pem(&text);
        let _ = PublicKey::from_der(&bytes);
        let _ = blob::decode_signature(&text);
        let _ = decrypt_private_key(&text, &Passphrase::new(String::new()), "fuzz.key");
        let _ = TrustPolicy::parse(&text, Path::new("trust.yml"), Path::new("/nonexistent"));
    }

    #[test]
    fn parsers_never_panic_on_structured_text(text in structured_text()) {
        let _ = Envelope::from_json(text.as_bytes());
        let _ = Bundle::from_json(text.as_bytes());
        let _ = intoto::parse_statement(text.as_bytes());
        let _ = PublicKey::from_pem(&text);
        let _ = TrustPolicy::parse(&text, Path::new("trust.yml"), Path::new("/nonexistent"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn envelopes_round_trip_for_any_payload(
        which in 0usize..2,
        payload_type in ".{0,40}",
        payload in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let key = &keys()[which];
        let envelope = dsse::sign(&payload_type, &payload, key);
        let read = Envelope::from_json(envelope.to_json().as_bytes()).unwrap();
        let verified = read.verify(&[key.public_key()], 1).unwrap();
        prop_assert_eq!(verified.payload, payload);
        prop_assert_eq!(verified.payload_type, payload_type);
    }

    #[test]
    fn any_bit_flip_in_an_envelope_fails(
        which in 0usize..2,
        payload in prop::collection::vec(any::<u8>(), 1..200),
        in_payload in any::<bool>(),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let key = &keys()[which];
        let mut envelope = dsse::sign(intoto::MEDIA_TYPE, &payload, key);
        let target = if in_payload {
            &mut envelope.payload
        } else {
            &mut envelope.signatures[0].sig
        };
        let at = position.index(target.len());
        target[at] ^= 1 << bit;
        prop_assert!(envelope.verify(&[key.public_key()], 1).is_err());
    }

    #[test]
    fn any_bit_flip_of_a_blob_or_its_signature_fails(
        which in 0usize..2,
        data in prop::collection::vec(any::<u8>(), 1..200),
        in_blob in any::<bool>(),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let key = &keys()[which];
        let mut signature = blob::sign_blob(key, &data);
        blob::verify_blob(&key.public_key(), &signature, &data).unwrap();
        let mut data = data;
        let target = if in_blob { &mut data } else { &mut signature };
        let at = position.index(target.len());
        target[at] ^= 1 << bit;
        prop_assert!(blob::verify_blob(&key.public_key(), &signature, &data).is_err());
    }

    #[test]
    fn message_bundles_round_trip_and_catch_any_bit_flip(
        which in 0usize..2,
        data in prop::collection::vec(any::<u8>(), 1..200),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let key = &keys()[which];
        let bundle = Bundle::sign_blob(key, &data);
        let read = Bundle::from_json(bundle.to_json().as_bytes()).unwrap();
        prop_assert_eq!(&read, &bundle);
        read.verify(&key.public_key(), &data).unwrap();
        let mut flipped = data;
        let at = position.index(flipped.len());
        flipped[at] ^= 1 << bit;
        prop_assert!(read.verify(&key.public_key(), &flipped).is_err());
    }
}
