//! Sigstore bundles (sigstore/protobuf-specs `sigstore_bundle.proto`, JSON form) for key-based
//! signatures: the verification material is a `publicKey` hint (the key id), there are no
//! transparency-log entries, and the content is either a `messageSignature` over a blob or a
//! `dsseEnvelope` with exactly one signature.
//!
//! Bundles are written as v0.3; v0.1 and v0.2 are read too. Keyless bundles (a Fulcio
//! certificate as material) are refused: checking them needs a trust root and a log.

use crate::dsse::{self, Envelope};
use crate::intoto::{self, Statement};
use crate::{Error, PublicKey, SigningKey, b64};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The media type this crate writes.
pub const MEDIA_TYPE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// Every media type read: v0.3 (both spellings), v0.2 and v0.1.
const MEDIA_TYPES_READ: [&str; 5] = [
    MEDIA_TYPE_V03,
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
    "application/vnd.dev.sigstore.bundle.v0.2+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "application/vnd.dev.sigstore.bundle+json;version=0.1",
];

const SHA2_256: &str = "SHA2_256";

/// A key-based Sigstore bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    /// The bundle's media type ([`MEDIA_TYPE_V03`] for bundles made here).
    pub media_type: String,
    /// The `publicKey.hint`: the signing key's id. A hint only; verification uses the key given.
    pub key_hint: Option<String>,
    /// What was signed.
    pub content: Content,
    /// Transparency-log entries present in a bundle that was read. They are not checked: a
    /// key-based bundle is trusted through its key.
    pub unchecked_tlog_entries: usize,
}

/// What a bundle carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// A signature over a blob's bytes, with the blob's SHA-256.
    MessageSignature {
        /// SHA-256 of the blob as recorded in the bundle.
        sha256: [u8; 32],
        /// The signature over the blob's bytes.
        signature: Vec<u8>,
    },
    /// A DSSE envelope with exactly one signature.
    DsseEnvelope(Envelope),
}

/// What a bundle's verification established.
#[derive(Clone, Debug, PartialEq)]
pub struct BundleVerified {
    /// Lowercase hex SHA-256 of the blob.
    pub sha256: String,
    /// The verified in-toto statement naming the blob, for `dsseEnvelope` bundles.
    pub statement: Option<Statement>,
}

impl Bundle {
    /// Signs `blob` with `key` into a `messageSignature` bundle.
    pub fn sign_blob(key: &SigningKey, blob: &[u8]) -> Bundle {
        Bundle::from_blob_signature(&key.public_key(), blob, key.sign(blob))
    }

    /// A `messageSignature` bundle for a signature already made over `blob` by `key`'s private
    /// half (e.g. with [`crate::blob::sign_blob`]).
    pub fn from_blob_signature(key: &PublicKey, blob: &[u8], signature: Vec<u8>) -> Bundle {
        Bundle {
            media_type: MEDIA_TYPE_V03.to_string(),
            key_hint: Some(key.key_id()),
            content: Content::MessageSignature {
                sha256: Sha256::digest(blob).into(),
                signature,
            },
            unchecked_tlog_entries: 0,
        }
    }

    /// Wraps a DSSE envelope signed by the key whose id is `key_hint`. The envelope must carry
    /// exactly one signature.
    pub fn from_envelope(envelope: Envelope, key_hint: impl Into<String>) -> Result<Bundle, Error> {
        check_one_signature(&envelope)?;
        Ok(Bundle {
            media_type: MEDIA_TYPE_V03.to_string(),
            key_hint: Some(key_hint.into()),
            content: Content::DsseEnvelope(envelope),
            unchecked_tlog_entries: 0,
        })
    }

    /// The bundle as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        let content = match &self.content {
            Content::MessageSignature { sha256, signature } => WrittenContent::MessageSignature {
                message_signature: RawMessageSignature {
                    message_digest: Some(RawDigest {
                        algorithm: SHA2_256.to_string(),
                        digest: sha256.to_vec(),
                    }),
                    signature: signature.clone(),
                },
            },
            Content::DsseEnvelope(envelope) => WrittenContent::DsseEnvelope {
                dsse_envelope: envelope.clone(),
            },
        };
        let written = WrittenBundle {
            media_type: self.media_type.clone(),
            verification_material: WrittenMaterial {
                public_key: RawPublicKeyIdentifier {
                    hint: self.key_hint.clone(),
                },
                tlog_entries: Vec::new(),
            },
            content,
        };
        // Serialising strings, byte vectors and the envelope cannot fail.
        serde_json::to_string_pretty(&written).unwrap_or_default()
    }

    /// Parses a bundle, refusing keyless ones and anything that is not one of the two key-based
    /// shapes.
    pub fn from_json(json: &[u8]) -> Result<Bundle, Error> {
        let raw: RawBundle = serde_json::from_slice(json)
            .map_err(|error| Error::malformed("Sigstore bundle", error.to_string()))?;
        let invalid = |message: &str| Error::malformed("Sigstore bundle", message);
        if !MEDIA_TYPES_READ.contains(&raw.media_type.as_str()) {
            return Err(Error::malformed(
                "Sigstore bundle",
                format!(
                    "unsupported media type `{}`; expected {MEDIA_TYPE_V03} (or v0.1, v0.2)",
                    raw.media_type
                ),
            ));
        }
        let material = raw
            .verification_material
            .ok_or_else(|| invalid("no `verificationMaterial`"))?;
        if material.certificate.is_some() || material.x509_certificate_chain.is_some() {
            return Err(Error::KeylessBundle);
        }
        let public_key = material
            .public_key
            .ok_or_else(|| invalid("`verificationMaterial` has no `publicKey`"))?;
        let content = match (raw.message_signature, raw.dsse_envelope) {
            (Some(message), None) => {
                let digest = message
                    .message_digest
                    .ok_or_else(|| invalid("`messageSignature` has no `messageDigest`"))?;
                if digest.algorithm != SHA2_256 {
                    return Err(Error::malformed(
                        "Sigstore bundle",
                        format!(
                            "message digest algorithm `{}` is not supported; expected {SHA2_256}",
                            digest.algorithm
                        ),
                    ));
                }
                let sha256: [u8; 32] = digest
                    .digest
                    .try_into()
                    .map_err(|_| invalid("the SHA2_256 message digest is not 32 bytes"))?;
                Content::MessageSignature {
                    sha256,
                    signature: message.signature,
                }
            }
            (None, Some(envelope)) => {
                check_one_signature(&envelope)?;
                Content::DsseEnvelope(envelope)
            }
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "both `messageSignature` and `dsseEnvelope`; a bundle carries exactly one",
                ));
            }
            (None, None) => return Err(invalid("neither `messageSignature` nor `dsseEnvelope`")),
        };
        Ok(Bundle {
            media_type: raw.media_type,
            key_hint: public_key.hint,
            content,
            unchecked_tlog_entries: material.tlog_entries.len(),
        })
    }

    /// Verifies the bundle for `blob` with `key`.
    ///
    /// `messageSignature`: the recorded SHA-256 equals the blob's and the signature over the blob
    /// verifies. `dsseEnvelope`: the envelope's signature verifies, its payload is an in-toto
    /// statement, and one of its subjects has the blob's SHA-256.
    pub fn verify(&self, key: &PublicKey, blob: &[u8]) -> Result<BundleVerified, Error> {
        let actual: [u8; 32] = Sha256::digest(blob).into();
        let actual_hex = hex::encode(actual);
        match &self.content {
            Content::MessageSignature { sha256, signature } => {
                if *sha256 != actual {
                    return Err(Error::DigestMismatch {
                        recorded: hex::encode(sha256),
                        actual: actual_hex,
                    });
                }
                key.verify(blob, signature)?;
                Ok(BundleVerified {
                    sha256: actual_hex,
                    statement: None,
                })
            }
            Content::DsseEnvelope(_) => {
                let verified = self.verify_envelope(key)?;
                if verified.payload_type != intoto::MEDIA_TYPE {
                    return Err(Error::malformed(
                        "Sigstore bundle",
                        format!(
                            "the envelope's payload type is `{}`, not an in-toto statement ({}), so it names no file",
                            verified.payload_type,
                            intoto::MEDIA_TYPE
                        ),
                    ));
                }
                let statement = intoto::parse_statement(&verified.payload)?;
                if !statement.has_sha256_subject(&actual_hex) {
                    return Err(Error::SubjectMismatch { digest: actual_hex });
                }
                Ok(BundleVerified {
                    sha256: actual_hex,
                    statement: Some(statement),
                })
            }
        }
    }

    /// Verifies a `dsseEnvelope` bundle's signature with `key`, without a blob.
    pub fn verify_envelope(&self, key: &PublicKey) -> Result<dsse::Verified, Error> {
        match &self.content {
            Content::DsseEnvelope(envelope) => envelope.verify(std::slice::from_ref(key), 1),
            Content::MessageSignature { .. } => Err(Error::malformed(
                "Sigstore bundle",
                "it holds a message signature, not a DSSE envelope",
            )),
        }
    }
}

fn check_one_signature(envelope: &Envelope) -> Result<(), Error> {
    if envelope.signatures.len() == 1 {
        Ok(())
    } else {
        Err(Error::malformed(
            "Sigstore bundle",
            format!(
                "its DSSE envelope has {} signatures; a bundle carries exactly one",
                envelope.signatures.len()
            ),
        ))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WrittenBundle {
    media_type: String,
    verification_material: WrittenMaterial,
    #[serde(flatten)]
    content: WrittenContent,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WrittenMaterial {
    public_key: RawPublicKeyIdentifier,
    tlog_entries: Vec<serde_json::Value>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum WrittenContent {
    MessageSignature {
        #[serde(rename = "messageSignature")]
        message_signature: RawMessageSignature,
    },
    DsseEnvelope {
        #[serde(rename = "dsseEnvelope")]
        dsse_envelope: Envelope,
    },
}

/// Field names are protobuf JSON's lowerCamelCase; the proto names are accepted as well, as
/// protobuf JSON parsers do.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBundle {
    #[serde(alias = "media_type")]
    media_type: String,
    #[serde(default, alias = "verification_material")]
    verification_material: Option<RawMaterial>,
    #[serde(default, alias = "message_signature")]
    message_signature: Option<RawMessageSignature>,
    #[serde(default, alias = "dsse_envelope")]
    dsse_envelope: Option<Envelope>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMaterial {
    #[serde(default, alias = "public_key")]
    public_key: Option<RawPublicKeyIdentifier>,
    #[serde(default)]
    certificate: Option<serde_json::Value>,
    #[serde(default, alias = "x509_certificate_chain")]
    x509_certificate_chain: Option<serde_json::Value>,
    #[serde(default, alias = "tlog_entries")]
    tlog_entries: Vec<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct RawPublicKeyIdentifier {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMessageSignature {
    #[serde(default, alias = "message_digest")]
    message_digest: Option<RawDigest>,
    #[serde(with = "b64::serde_bytes")]
    signature: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct RawDigest {
    algorithm: String,
    #[serde(with = "b64::serde_bytes")]
    digest: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Algorithm;
    use crate::intoto::ResourceDescriptor;
    use serde_json::json;

    #[test]
    fn message_signature_bundle_shape() {
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let bundle = Bundle::sign_blob(&key, b"blob");
        let json: serde_json::Value = serde_json::from_str(&bundle.to_json()).unwrap();
        assert_eq!(json["mediaType"], MEDIA_TYPE_V03);
        assert_eq!(
            json["verificationMaterial"],
            json!({"publicKey": {"hint": key.public_key().key_id()}, "tlogEntries": []})
        );
        assert_eq!(
            json["messageSignature"]["messageDigest"]["algorithm"],
            "SHA2_256"
        );
        assert_eq!(
            json["messageSignature"]["messageDigest"]["digest"],
            b64::encode(&Sha256::digest(b"blob"))
        );
        assert!(json.get("dsseEnvelope").is_none());
        let read = Bundle::from_json(bundle.to_json().as_bytes()).unwrap();
        assert_eq!(read, bundle);
        read.verify(&key.public_key(), b"blob").unwrap();
    }

    #[test]
    fn message_signature_checks_digest_then_signature() {
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let bundle = Bundle::sign_blob(&key, b"blob");
        let error = bundle.verify(&key.public_key(), b"other").unwrap_err();
        assert!(matches!(error, Error::DigestMismatch { .. }), "{error}");
        let other = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let error = bundle.verify(&other.public_key(), b"blob").unwrap_err();
        assert!(matches!(error, Error::BadSignature(_)), "{error}");
    }

    #[test]
    fn dsse_bundle_ties_the_statement_to_the_blob() {
        let key = SigningKey::generate(Algorithm::Ed25519).unwrap();
        let digest = hex::encode(Sha256::digest(b"artifact"));
        let statement = Statement::new(
            vec![ResourceDescriptor::sha256("artifact", digest.clone())],
            "https://slsa.dev/provenance/v1",
            json!({"buildDefinition": {"buildType": "x"}}),
        );
        let envelope = dsse::sign(intoto::MEDIA_TYPE, &statement.to_json(), &key);
        let bundle = Bundle::from_envelope(envelope, key.public_key().key_id()).unwrap();
        let read = Bundle::from_json(bundle.to_json().as_bytes()).unwrap();
        let verified = read.verify(&key.public_key(), b"artifact").unwrap();
        assert_eq!(verified.sha256, digest);
        assert_eq!(verified.statement, Some(statement));
        let error = read.verify(&key.public_key(), b"another").unwrap_err();
        assert!(matches!(error, Error::SubjectMismatch { .. }), "{error}");
    }

    #[test]
    fn reader_accepts_older_media_types_and_refuses_keyless() {
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let mut json: serde_json::Value =
            serde_json::from_str(&Bundle::sign_blob(&key, b"b").to_json()).unwrap();
        json["mediaType"] = json!("application/vnd.dev.sigstore.bundle+json;version=0.1");
        Bundle::from_json(json.to_string().as_bytes()).unwrap();
        json["mediaType"] = json!("application/vnd.dev.sigstore.bundle.v9.9+json");
        let error = Bundle::from_json(json.to_string().as_bytes()).unwrap_err();
        assert!(
            error.to_string().contains("unsupported media type"),
            "{error}"
        );
        json["mediaType"] = json!(MEDIA_TYPE_V03);
        json["verificationMaterial"] =
            json!({"certificate": {"rawBytes": "MIIB"}, "tlogEntries": []});
        let error = Bundle::from_json(json.to_string().as_bytes()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "keyless bundles need a trust root; not supported (hint: verify bundles signed with a key, `publicKey` verification material)"
        );
        json["verificationMaterial"] =
            json!({"x509CertificateChain": {"certificates": []}, "tlogEntries": []});
        assert!(matches!(
            Bundle::from_json(json.to_string().as_bytes()),
            Err(Error::KeylessBundle)
        ));
    }

    #[test]
    fn envelope_bundles_carry_exactly_one_signature() {
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let mut envelope = dsse::sign("t", b"p", &key);
        envelope.add_signature(&key);
        let error = Bundle::from_envelope(envelope, "hint").unwrap_err();
        assert!(error.to_string().contains("exactly one"), "{error}");
    }
}
