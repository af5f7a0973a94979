//! DSSE, the Dead Simple Signing Envelope (secure-systems-lab/dsse, protocol v1).
//!
//! A signature covers `PAE(payloadType, payload)`, never the JSON around it, and verification
//! works on the payload bytes exactly as received: nothing is re-serialised before checking.

use crate::{Error, PublicKey, SigningKey, b64};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The pre-authentication encoding:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let type_len = payload_type.len().to_string();
    let body_len = payload.len().to_string();
    let mut encoded = Vec::with_capacity(
        "DSSEv1".len() + type_len.len() + payload_type.len() + body_len.len() + payload.len() + 4,
    );
    encoded.extend_from_slice(b"DSSEv1 ");
    encoded.extend_from_slice(type_len.as_bytes());
    encoded.push(b' ');
    encoded.extend_from_slice(payload_type.as_bytes());
    encoded.push(b' ');
    encoded.extend_from_slice(body_len.as_bytes());
    encoded.push(b' ');
    encoded.extend_from_slice(payload);
    encoded
}

/// A DSSE envelope as JSON: `payloadType`, base64 `payload`, and `signatures`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// How to interpret the payload, e.g. `application/vnd.in-toto+json`.
    pub payload_type: String,
    /// The signed bytes, decoded from base64.
    #[serde(with = "b64::serde_bytes")]
    pub payload: Vec<u8>,
    /// One entry per signer.
    pub signatures: Vec<Signature>,
}

/// One signature of an envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// An unauthenticated hint naming the key; only used to try that key first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyid: Option<String>,
    /// The signature over the PAE, decoded from base64.
    #[serde(with = "b64::serde_bytes")]
    pub sig: Vec<u8>,
}

/// What a successful verification vouches for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The payload type, as signed.
    pub payload_type: String,
    /// The payload bytes, as signed.
    pub payload: Vec<u8>,
    /// Key ids of the distinct trusted keys whose signatures verified, sorted.
    pub key_ids: Vec<String>,
}

/// Signs `payload` as `payload_type` with `key`; the signature's `keyid` is the key's id.
pub fn sign(payload_type: &str, payload: &[u8], key: &SigningKey) -> Envelope {
    let mut envelope = Envelope {
        payload_type: payload_type.to_string(),
        payload: payload.to_vec(),
        signatures: Vec::new(),
    };
    envelope.add_signature(key);
    envelope
}

impl Envelope {
    /// Adds a signature by `key` over this envelope's payload.
    pub fn add_signature(&mut self, key: &SigningKey) {
        let sig = key.sign(&pae(&self.payload_type, &self.payload));
        self.signatures.push(Signature {
            keyid: Some(key.public_key().key_id()),
            sig,
        });
    }

    /// Parses envelope JSON; base64 fields may use either alphabet, padded or not.
    pub fn from_json(json: &[u8]) -> Result<Envelope, Error> {
        serde_json::from_slice(json)
            .map_err(|error| Error::malformed("DSSE envelope", error.to_string()))
    }

    /// The envelope as compact JSON, base64 standard with padding.
    pub fn to_json(&self) -> String {
        // Serialising strings and byte vectors cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Verifies that at least `threshold` distinct keys of `trusted` signed this envelope.
    ///
    /// Each signature is tried against the key its `keyid` names first, then against every
    /// other trusted key: the key id is a hint, never a reason to accept or to skip. The same
    /// key signing twice counts once.
    pub fn verify(&self, trusted: &[PublicKey], threshold: usize) -> Result<Verified, Error> {
        if threshold == 0 {
            return Err(Error::malformed(
                "DSSE envelope",
                "a threshold of 0 would accept anything; ask for at least 1 signature",
            ));
        }
        let mut distinct: Vec<&PublicKey> = Vec::new();
        for key in trusted {
            if !distinct.contains(&key) {
                distinct.push(key);
            }
        }
        let message = pae(&self.payload_type, &self.payload);
        let mut accepted: BTreeSet<String> = BTreeSet::new();
        for signature in &self.signatures {
            let hinted =
                |key: &&&PublicKey| signature.keyid.as_deref() == Some(key.key_id().as_str());
            let candidates = distinct
                .iter()
                .filter(hinted)
                .chain(distinct.iter().filter(|key| !hinted(key)));
            for key in candidates {
                if key.verify(&message, &signature.sig).is_ok() {
                    accepted.insert(key.key_id());
                    break;
                }
            }
        }
        if accepted.len() < threshold {
            return Err(Error::Threshold {
                threshold,
                verified: accepted.len(),
                signatures: self.signatures.len(),
                trusted: distinct.len(),
            });
        }
        Ok(Verified {
            payload_type: self.payload_type.clone(),
            payload: self.payload.clone(),
            key_ids: accepted.into_iter().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Algorithm;

    /// The spec's test vector (protocol.md, "Test Vectors"): ECDSA P-256/SHA-256,
    /// deterministic RFC 6979, raw r‖s signature encoding.
    const SPEC_PAYLOAD_TYPE: &str = "http://example.com/HelloWorld";
    const SPEC_PAYLOAD: &[u8] = b"hello world";
    const SPEC_PAE_HEX: &str = "44535345763120323920687474703a2f2f6578616d706c652e636f6d2f48656c6c6f576f726c642031312068656c6c6f20776f726c64";
    const SPEC_X: &str =
        "46950820868899156662930047687818585632848591499744589407958293238635476079160";
    const SPEC_Y: &str =
        "5640078356564379163099075877009565129882514886557779369047442380624545832820";
    const SPEC_D: &str =
        "97358161215184420915383655311931858321456579547487070936769975997791359926199";
    const SPEC_ENVELOPE: &str = r#"{"payload": "aGVsbG8gd29ybGQ=",
 "payloadType": "http://example.com/HelloWorld",
 "signatures": [{"sig": "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA=="}]}"#;

    /// A decimal integer below 2^256 as 32 big-endian bytes.
    fn decimal_to_be32(decimal: &str) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        for digit in decimal.bytes() {
            let mut carry = u32::from(digit - b'0');
            for byte in bytes.iter_mut().rev() {
                let value = u32::from(*byte) * 10 + carry;
                *byte = (value & 0xff) as u8;
                carry = value >> 8;
            }
            assert_eq!(carry, 0, "value does not fit 256 bits");
        }
        bytes
    }

    /// Verifies a raw r‖s P-256 signature: only the spec's own vector uses that encoding.
    fn verify_raw_p256(x: &[u8; 32], y: &[u8; 32], message: &[u8], raw: &[u8]) -> bool {
        use p256::ecdsa::signature::Verifier as _;
        let mut sec1 = vec![0x04];
        sec1.extend_from_slice(x);
        sec1.extend_from_slice(y);
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).unwrap();
        let signature = p256::ecdsa::Signature::from_slice(raw).unwrap();
        key.verify(message, &signature).is_ok()
    }

    #[test]
    fn pae_matches_the_spec_vector() {
        let encoded = pae(SPEC_PAYLOAD_TYPE, SPEC_PAYLOAD);
        assert_eq!(hex::encode(&encoded), SPEC_PAE_HEX);
        assert_eq!(
            encoded,
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn pae_of_empty_fields() {
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ");
    }

    #[test]
    fn spec_signature_verifies_with_the_spec_public_point() {
        let envelope = Envelope::from_json(SPEC_ENVELOPE.as_bytes()).unwrap();
        assert_eq!(envelope.payload, SPEC_PAYLOAD);
        assert_eq!(envelope.payload_type, SPEC_PAYLOAD_TYPE);
        let (x, y) = (decimal_to_be32(SPEC_X), decimal_to_be32(SPEC_Y));
        let message = pae(&envelope.payload_type, &envelope.payload);
        let raw = &envelope.signatures[0].sig;
        assert!(verify_raw_p256(&x, &y, &message, raw));
        let mut flipped = raw.clone();
        flipped[10] ^= 0x01;
        assert!(!verify_raw_p256(&x, &y, &message, &flipped));
    }

    #[test]
    fn deterministic_signing_reproduces_the_spec_signature() {
        use p256::ecdsa::signature::Signer as _;
        let d = decimal_to_be32(SPEC_D);
        let key = p256::ecdsa::SigningKey::from_slice(&d).unwrap();
        let signature: p256::ecdsa::Signature = key.sign(&pae(SPEC_PAYLOAD_TYPE, SPEC_PAYLOAD));
        let expected = Envelope::from_json(SPEC_ENVELOPE.as_bytes()).unwrap();
        assert_eq!(signature.to_bytes().as_slice(), expected.signatures[0].sig);
        let point = key.verifying_key().to_sec1_point(false);
        assert_eq!(point.x().unwrap().as_slice(), decimal_to_be32(SPEC_X));
    }

    #[test]
    fn sign_then_verify_and_serialise_with_standard_padded_base64() {
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let envelope = sign("application/vnd.in-toto+json", b"{\"a\":1}", &key);
        let json = envelope.to_json();
        assert!(json.contains("\"payload\":\"eyJhIjoxfQ==\""), "{json}");
        let read = Envelope::from_json(json.as_bytes()).unwrap();
        assert_eq!(read, envelope);
        let verified = read.verify(&[key.public_key()], 1).unwrap();
        assert_eq!(verified.payload, b"{\"a\":1}");
        assert_eq!(verified.key_ids, [key.public_key().key_id()]);
    }

    #[test]
    fn url_safe_unpadded_input_is_accepted() {
        let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
        let envelope = sign("t", &[0xfb, 0xff], &key);
        let json = envelope.to_json().replace("+/8=", "-_8");
        assert!(json.contains("\"-_8\""), "{json}");
        let read = Envelope::from_json(json.as_bytes()).unwrap();
        read.verify(&[key.public_key()], 1).unwrap();
    }

    #[test]
    fn threshold_counts_distinct_trusted_keys() {
        let first = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let second = SigningKey::generate(Algorithm::Ed25519).unwrap();
        let outsider = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let mut envelope = sign("t", b"payload", &first);
        envelope.add_signature(&first);
        envelope.add_signature(&outsider);
        let trusted = [first.public_key(), second.public_key(), first.public_key()];
        assert!(envelope.verify(&trusted, 1).is_ok());
        let error = envelope.verify(&trusted, 2).unwrap_err();
        assert!(
            matches!(
                error,
                Error::Threshold {
                    verified: 1,
                    threshold: 2,
                    signatures: 3,
                    trusted: 2
                }
            ),
            "{error}"
        );
        envelope.add_signature(&second);
        assert_eq!(envelope.verify(&trusted, 2).unwrap().key_ids.len(), 2);
        assert!(envelope.verify(&trusted, 0).is_err());
    }

    #[test]
    fn a_wrong_keyid_hint_does_not_matter() {
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let mut envelope = sign("t", b"payload", &key);
        envelope.signatures[0].keyid = Some("some-other-tool's-id".into());
        assert!(envelope.verify(&[key.public_key()], 1).is_ok());
    }

    #[test]
    fn verification_uses_the_received_payload_bytes() {
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        // Not canonical JSON on purpose: re-serialising would change these bytes.
        let payload = b"{ \"b\": 1,  \"a\": 2 }";
        let envelope = sign("application/vnd.in-toto+json", payload, &key);
        let read = Envelope::from_json(envelope.to_json().as_bytes()).unwrap();
        assert_eq!(
            read.verify(&[key.public_key()], 1).unwrap().payload,
            payload
        );
    }

    #[test]
    fn tampered_payload_or_type_fails() {
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let envelope = sign("t", b"payload", &key);
        let mut payload_changed = envelope.clone();
        payload_changed.payload[0] ^= 1;
        assert!(payload_changed.verify(&[key.public_key()], 1).is_err());
        let mut type_changed = envelope;
        type_changed.payload_type = "u".into();
        assert!(type_changed.verify(&[key.public_key()], 1).is_err());
    }
}
