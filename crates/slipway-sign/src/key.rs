//! Signing keys and public keys: ECDSA P-256 with SHA-256 (ASN.1 DER signatures, cosign's
//! default) and Ed25519.

use crate::Error;
use ed25519_dalek::pkcs8::KeypairBytes;
use p256::ecdsa::DerSignature;
use pkcs8::der::Decode as _;
use pkcs8::der::pem::{self, LineEnding};
use pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, ObjectIdentifier};
use sha2::{Digest as _, Sha256};
use spki::{DecodePublicKey as _, EncodePublicKey as _, SubjectPublicKeyInfoRef};
use std::fmt;
use std::str::FromStr;
use zeroize::{Zeroize as _, Zeroizing};

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Names for the key types people are likely to bring, so the error says "RSA", not an OID.
const KNOWN_UNSUPPORTED: [(&str, &str); 5] = [
    ("1.2.840.113549.1.1.1", "RSA"),
    ("1.2.840.113549.1.1.10", "RSA-PSS"),
    ("1.3.132.0.34", "ECDSA P-384"),
    ("1.3.132.0.35", "ECDSA P-521"),
    ("1.3.101.113", "Ed448"),
];

const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";

/// A signature algorithm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA over NIST P-256 with SHA-256; signatures are ASN.1 DER. cosign's default and the
    /// only key type cosign verifies everywhere.
    #[default]
    EcdsaP256Sha256,
    /// Pure Ed25519 (RFC 8032) over the message.
    Ed25519,
}

impl Algorithm {
    /// The name used on the command line and in JSON output: `ecdsa-p256` or `ed25519`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256Sha256 => "ecdsa-p256",
            Algorithm::Ed25519 => "ed25519",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "ecdsa-p256" => Ok(Algorithm::EcdsaP256Sha256),
            "ed25519" => Ok(Algorithm::Ed25519),
            other => Err(format!(
                "unknown algorithm `{other}`; expected `ecdsa-p256` or `ed25519`"
            )),
        }
    }
}

/// A private key that signs. Its secret is zeroed when dropped; `Debug` shows only the
/// algorithm and the key id.
pub struct SigningKey {
    inner: SigningKeyInner,
}

enum SigningKeyInner {
    EcdsaP256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl SigningKey {
    /// A fresh key from the operating system's random number generator.
    pub fn generate(algorithm: Algorithm) -> Result<SigningKey, Error> {
        let inner = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                use p256::elliptic_curve::Generate as _;
                let key = p256::ecdsa::SigningKey::try_generate()
                    .map_err(|error| Error::Random(error.to_string()))?;
                SigningKeyInner::EcdsaP256(key)
            }
            Algorithm::Ed25519 => {
                let mut seed = Zeroizing::new([0u8; 32]);
                getrandom::fill(seed.as_mut_slice())
                    .map_err(|error| Error::Random(error.to_string()))?;
                SigningKeyInner::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed))
            }
        };
        Ok(SigningKey { inner })
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self.inner {
            SigningKeyInner::EcdsaP256(_) => Algorithm::EcdsaP256Sha256,
            SigningKeyInner::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        let inner = match &self.inner {
            SigningKeyInner::EcdsaP256(key) => PublicKeyInner::EcdsaP256(*key.verifying_key()),
            SigningKeyInner::Ed25519(key) => PublicKeyInner::Ed25519(key.verifying_key()),
        };
        PublicKey::from_inner(inner)
    }

    /// Signs `message`: ECDSA P-256 over its SHA-256, DER-encoded; or pure Ed25519.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        use ed25519_dalek::Signer as _;
        match &self.inner {
            SigningKeyInner::EcdsaP256(key) => {
                let signature: DerSignature = key.sign(message);
                signature.as_bytes().to_vec()
            }
            SigningKeyInner::Ed25519(key) => key.sign(message).to_bytes().to_vec(),
        }
    }

    /// The key as PKCS#8 DER, the plaintext of the encrypted key file. Ed25519 keys are written
    /// without the optional public key (PKCS#8 v1), as Go's `x509.MarshalPKCS8PrivateKey` does,
    /// so that cosign reads them.
    pub(crate) fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let document = match &self.inner {
            SigningKeyInner::EcdsaP256(key) => key.to_pkcs8_der(),
            SigningKeyInner::Ed25519(key) => {
                let mut pair = KeypairBytes {
                    secret_key: key.to_bytes(),
                    public_key: None,
                };
                let document = pair.to_pkcs8_der();
                // `KeypairBytes` zeroes itself only with a feature of `ed25519` nothing enables.
                pair.secret_key.zeroize();
                document
            }
        }
        .map_err(|error| {
            Error::invalid_key(
                "private key",
                format!("cannot encode the key as PKCS#8: {error}"),
                "this is a bug in Slipway; please report it",
            )
        })?;
        Ok(Zeroizing::new(document.as_bytes().to_vec()))
    }

    /// Reads a PKCS#8 DER private key (P-256 or Ed25519).
    pub(crate) fn from_pkcs8_der(der: &[u8], source_name: &str) -> Result<SigningKey, Error> {
        let info = pkcs8::PrivateKeyInfoRef::from_der(der).map_err(|error| {
            Error::invalid_key(
                source_name,
                format!("the decrypted key is not PKCS#8: {error}"),
                "the key file is damaged; regenerate it",
            )
        })?;
        let oid = info.algorithm.oid;
        let inner = if oid == OID_EC_PUBLIC_KEY {
            let curve = info.algorithm.parameters_oid().ok();
            if curve != Some(OID_P256) {
                return Err(unsupported(source_name, oid, curve));
            }
            SigningKeyInner::EcdsaP256(
                p256::ecdsa::SigningKey::from_pkcs8_der(der)
                    .map_err(|error| damaged_private_key(source_name, error))?,
            )
        } else if oid == OID_ED25519 {
            SigningKeyInner::Ed25519(
                ed25519_dalek::SigningKey::from_pkcs8_der(der)
                    .map_err(|error| damaged_private_key(source_name, error))?,
            )
        } else {
            return Err(unsupported(source_name, oid, None));
        };
        Ok(SigningKey { inner })
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm())
            .field("key_id", &self.public_key().key_id())
            .finish_non_exhaustive()
    }
}

fn damaged_private_key(source_name: &str, error: pkcs8::Error) -> Error {
    Error::invalid_key(
        source_name,
        format!("the private key does not decode: {error}"),
        "the key file is damaged; regenerate it",
    )
}

fn unsupported(source_name: &str, oid: ObjectIdentifier, curve: Option<ObjectIdentifier>) -> Error {
    let shown = curve.unwrap_or(oid).to_string();
    let key_type = KNOWN_UNSUPPORTED
        .iter()
        .find(|(known, _)| *known == shown)
        .map_or_else(
            || format!("algorithm {shown}"),
            |(_, name)| (*name).to_string(),
        );
    Error::UnsupportedKeyType {
        source_name: source_name.to_string(),
        key_type,
    }
}

/// A public key that verifies; compared and identified by its DER SubjectPublicKeyInfo.
#[derive(Clone)]
pub struct PublicKey {
    inner: PublicKeyInner,
    /// The canonical DER SubjectPublicKeyInfo, kept because the key id and PEM derive from it.
    der: Vec<u8>,
}

#[derive(Clone)]
enum PublicKeyInner {
    EcdsaP256(p256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PublicKey {
    fn from_inner(inner: PublicKeyInner) -> PublicKey {
        let der = match &inner {
            PublicKeyInner::EcdsaP256(key) => key.to_public_key_der(),
            PublicKeyInner::Ed25519(key) => key.to_public_key_der(),
        };
        // Encoding a valid in-memory key into a growable buffer cannot fail.
        let der = der.map(|document| document.into_vec()).unwrap_or_default();
        PublicKey { inner, der }
    }

    /// Reads a PKIX `-----BEGIN PUBLIC KEY-----` PEM, detecting P-256 or Ed25519.
    pub fn from_pem(pem_text: &str) -> Result<PublicKey, Error> {
        Self::from_pem_named(pem_text, "public key")
    }

    /// Like [`PublicKey::from_pem`], naming `source_name` (a file path) in errors.
    pub fn from_pem_named(pem_text: &str, source_name: &str) -> Result<PublicKey, Error> {
        let (label, der) = pem::decode_vec(pem_text.trim().as_bytes()).map_err(|error| {
            Error::invalid_key(
                source_name,
                format!("not a PEM public key: {error}"),
                "expect a file starting with -----BEGIN PUBLIC KEY----- (the .pub file of `slipway keys generate` or `cosign generate-key-pair`)",
            )
        })?;
        if label != PUBLIC_KEY_LABEL {
            let hint = if label.contains("PRIVATE KEY") {
                "this is a private key; pass the public key (the .pub file) instead"
            } else if label == "CERTIFICATE" {
                "certificates are not supported; extract the public key with `openssl x509 -pubkey -noout`"
            } else {
                "expect a PKIX public key: -----BEGIN PUBLIC KEY-----"
            };
            return Err(Error::invalid_key(
                source_name,
                format!("PEM block is `{label}`, not `{PUBLIC_KEY_LABEL}`"),
                hint,
            ));
        }
        Self::from_der_named(&der, source_name)
    }

    /// Reads a DER SubjectPublicKeyInfo, detecting P-256 or Ed25519.
    pub fn from_der(der: &[u8]) -> Result<PublicKey, Error> {
        Self::from_der_named(der, "public key")
    }

    fn from_der_named(der: &[u8], source_name: &str) -> Result<PublicKey, Error> {
        let damaged = |message: String| {
            Error::invalid_key(
                source_name,
                message,
                "the public key is damaged; copy it again from its source",
            )
        };
        let info = SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|error| damaged(format!("not a SubjectPublicKeyInfo: {error}")))?;
        let oid = info.algorithm.oid;
        let inner = if oid == OID_EC_PUBLIC_KEY {
            let curve = info.algorithm.parameters_oid().ok();
            if curve != Some(OID_P256) {
                return Err(unsupported(source_name, oid, curve));
            }
            PublicKeyInner::EcdsaP256(
                p256::ecdsa::VerifyingKey::from_public_key_der(der)
                    .map_err(|error| damaged(format!("not a valid P-256 point: {error}")))?,
            )
        } else if oid == OID_ED25519 {
            PublicKeyInner::Ed25519(
                ed25519_dalek::VerifyingKey::from_public_key_der(der)
                    .map_err(|error| damaged(format!("not a valid Ed25519 key: {error}")))?,
            )
        } else {
            return Err(unsupported(source_name, oid, None));
        };
        Ok(PublicKey::from_inner(inner))
    }

    /// The key as a PKIX PEM (`-----BEGIN PUBLIC KEY-----`, 64-column lines, LF).
    pub fn to_pem(&self) -> String {
        // The label is a valid RFC 7468 label and the DER is small: encoding cannot fail.
        pem::encode_string(PUBLIC_KEY_LABEL, LineEnding::LF, &self.der).unwrap_or_default()
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn to_der(&self) -> &[u8] {
        &self.der
    }

    /// Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo.
    pub fn key_id(&self) -> String {
        hex::encode(Sha256::digest(&self.der))
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self.inner {
            PublicKeyInner::EcdsaP256(_) => Algorithm::EcdsaP256Sha256,
            PublicKeyInner::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// Checks `signature` over `message`: DER ECDSA P-256/SHA-256 or Ed25519 (strict: no
    /// malleable or small-order forms).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Error> {
        use ed25519_dalek::Verifier as _;
        match &self.inner {
            PublicKeyInner::EcdsaP256(key) => {
                let signature = DerSignature::from_bytes(signature).map_err(|_| {
                    Error::BadSignature("not a DER-encoded ECDSA P-256 signature".into())
                })?;
                key.verify(message, &signature).map_err(|_| {
                    Error::BadSignature(format!(
                        "ECDSA P-256 signature does not match key {}",
                        self.key_id()
                    ))
                })
            }
            PublicKeyInner::Ed25519(key) => {
                let signature = ed25519_dalek::Signature::from_slice(signature)
                    .map_err(|_| Error::BadSignature("not a 64-byte Ed25519 signature".into()))?;
                key.verify_strict(message, &signature).map_err(|_| {
                    Error::BadSignature(format!(
                        "Ed25519 signature does not match key {}",
                        self.key_id()
                    ))
                })
            }
        }
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for PublicKey {}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("algorithm", &self.algorithm())
            .field("key_id", &self.key_id())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_with_both_algorithms() {
        for algorithm in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let key = SigningKey::generate(algorithm).unwrap();
            let public = key.public_key();
            let signature = key.sign(b"message");
            public.verify(b"message", &signature).unwrap();
            assert!(
                public.verify(b"messagf", &signature).is_err(),
                "{algorithm}"
            );
        }
    }

    #[test]
    fn pem_round_trips_and_key_id_is_sha256_of_the_der() {
        for algorithm in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let public = SigningKey::generate(algorithm).unwrap().public_key();
            let pem = public.to_pem();
            assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
            let read = PublicKey::from_pem(&pem).unwrap();
            assert_eq!(read, public);
            assert_eq!(read.algorithm(), algorithm);
            assert_eq!(read.key_id(), hex::encode(Sha256::digest(public.to_der())));
            assert_eq!(read.key_id().len(), 64);
        }
    }

    #[test]
    fn ecdsa_signatures_are_der() {
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let signature = key.sign(b"x");
        assert_eq!(signature[0], 0x30, "a DER SEQUENCE");
        assert_eq!(usize::from(signature[1]) + 2, signature.len());
    }

    #[test]
    fn pkcs8_round_trips_and_ed25519_omits_the_public_key() {
        for algorithm in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let key = SigningKey::generate(algorithm).unwrap();
            let der = key.to_pkcs8_der().unwrap();
            let info = pkcs8::PrivateKeyInfoRef::from_der(&der).unwrap();
            if algorithm == Algorithm::Ed25519 {
                assert!(info.public_key.is_none(), "PKCS#8 v1, as Go writes it");
            }
            let read = SigningKey::from_pkcs8_der(&der, "test").unwrap();
            assert_eq!(read.public_key(), key.public_key());
        }
    }

    #[test]
    fn rejects_other_key_types_by_name() {
        use pkcs8::der::Encode as _;
        use pkcs8::der::asn1::{AnyRef, BitStringRef};
        let rsa = spki::SubjectPublicKeyInfo {
            algorithm: spki::AlgorithmIdentifier {
                oid: ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1"),
                parameters: Some(AnyRef::NULL),
            },
            subject_public_key: BitStringRef::from_bytes(&[0x30, 0x00]).unwrap(),
        }
        .to_der()
        .unwrap();
        let pem = pem::encode_string("PUBLIC KEY", LineEnding::LF, &rsa).unwrap();
        let error = PublicKey::from_pem(&pem).unwrap_err();
        assert!(
            error.to_string().contains("RSA keys are not supported"),
            "{error}"
        );
    }

    #[test]
    fn private_key_pem_is_refused_with_a_hint() {
        let error =
            PublicKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                .unwrap_err();
        assert!(error.to_string().contains("pass the public key"), "{error}");
    }

    #[test]
    fn algorithm_names_parse_back() {
        for algorithm in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            assert_eq!(algorithm.name().parse::<Algorithm>(), Ok(algorithm));
        }
        assert!("rsa".parse::<Algorithm>().is_err());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
        let shown = format!("{key:?}");
        let secret_hex = match &key.inner {
            SigningKeyInner::Ed25519(inner) => hex::encode(inner.to_bytes()),
            SigningKeyInner::EcdsaP256(_) => unreachable!(),
        };
        assert!(!shown.contains(&secret_hex), "{shown}");
        assert!(shown.contains(&key.public_key().key_id()));
    }
}
