//! Signed checkpoints: the count and head hash of the log at a moment, signed with the
//! builder key, so that a log cut short or rewritten and re-hashed is still caught.

use crate::entry::{format_millis, parse_millis};
use crate::error::Result;
use serde::{Deserialize, Serialize};
use slipway_sign::{PublicKey, SigningKey, blob};

/// A checkpoint is taken every this many entries (and at the end of each command that
/// appended).
pub const CHECKPOINT_EVERY: i64 = 1000;

/// Names what a checkpoint signature is over, so that it cannot be taken for a signature
/// over anything else.
pub const CHECKPOINT_LOG: &str = "slipway-audit";

/// The state of the log a checkpoint vouches for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// How many entries the log had: the last entry's seq.
    pub count: i64,
    /// The hash of entry `count`.
    pub head: String,
    /// When it was taken, milliseconds since the Unix epoch.
    pub at_ms: i64,
}

#[derive(Serialize)]
struct Payload<'a> {
    log: &'a str,
    count: i64,
    head: &'a str,
    at: &'a str,
}

impl Checkpoint {
    /// The signed bytes: the RFC 8785 encoding of `{"log": "slipway-audit", count, head, at}`.
    pub fn payload(&self) -> Result<Vec<u8>> {
        let at = format_millis(self.at_ms)?;
        Ok(serde_json_canonicalizer::to_vec(&Payload {
            log: CHECKPOINT_LOG,
            count: self.count,
            head: &self.head,
            at: &at,
        })?)
    }

    /// Signs the payload (ECDSA P-256/SHA-256 DER or Ed25519, as the key is).
    pub fn sign(&self, key: &SigningKey) -> Result<SignedCheckpoint> {
        let signature = blob::sign_blob(key, &self.payload()?);
        Ok(SignedCheckpoint {
            checkpoint: self.clone(),
            key_id: key.public_key().key_id(),
            signature: blob::encode_signature(&signature),
        })
    }
}

/// A checkpoint with its signature, as stored and exported:
/// `{"count", "head", "at", "key_id", "signature"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "WireCheckpoint", into = "WireCheckpoint")]
pub struct SignedCheckpoint {
    /// What is vouched for.
    pub checkpoint: Checkpoint,
    /// The signer's key id: lowercase hex SHA-256 of its DER SubjectPublicKeyInfo.
    pub key_id: String,
    /// Standard base64 of the signature over [`Checkpoint::payload`].
    pub signature: String,
}

/// Why a checkpoint does not vouch for anything.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointProblem {
    /// No trusted key has this id.
    #[error(
        "the checkpoint at entry {count} is signed by key {key_id}, which is not trusted here (pass its public key with --key)"
    )]
    UntrustedKey {
        /// The checkpoint's count.
        count: i64,
        /// The unknown key id.
        key_id: String,
    },
    /// The signature does not verify.
    #[error("the checkpoint at entry {count} has a bad signature: {reason}")]
    BadSignature {
        /// The checkpoint's count.
        count: i64,
        /// What the verifier said.
        reason: String,
    },
}

impl SignedCheckpoint {
    /// Checks the signature with the trusted key of the same id.
    pub fn verify(&self, trusted: &[PublicKey]) -> Result<(), CheckpointProblem> {
        let count = self.checkpoint.count;
        let Some(key) = trusted.iter().find(|key| key.key_id() == self.key_id) else {
            return Err(CheckpointProblem::UntrustedKey {
                count,
                key_id: self.key_id.clone(),
            });
        };
        let bad = |reason: String| CheckpointProblem::BadSignature { count, reason };
        let payload = self.checkpoint.payload().map_err(|e| bad(e.to_string()))?;
        let signature = blob::decode_signature(&self.signature).map_err(|e| bad(e.to_string()))?;
        blob::verify_blob(key, &signature, &payload).map_err(|e| bad(e.to_string()))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WireCheckpoint {
    count: i64,
    head: String,
    at: String,
    key_id: String,
    signature: String,
}

impl TryFrom<WireCheckpoint> for SignedCheckpoint {
    type Error = String;

    fn try_from(wire: WireCheckpoint) -> Result<Self, Self::Error> {
        let at_ms = parse_millis(&wire.at).ok_or_else(|| {
            format!(
                "checkpoint `at` is `{}`, not a UTC RFC 3339 time with milliseconds",
                wire.at
            )
        })?;
        Ok(SignedCheckpoint {
            checkpoint: Checkpoint {
                count: wire.count,
                head: wire.head,
                at_ms,
            },
            key_id: wire.key_id,
            signature: wire.signature,
        })
    }
}

impl From<SignedCheckpoint> for WireCheckpoint {
    fn from(signed: SignedCheckpoint) -> Self {
        WireCheckpoint {
            count: signed.checkpoint.count,
            // A stored checkpoint's time was written by `format_millis`; an impossible one
            // stays visible as its number.
            at: format_millis(signed.checkpoint.at_ms)
                .unwrap_or_else(|_| signed.checkpoint.at_ms.to_string()),
            head: signed.checkpoint.head,
            key_id: signed.key_id,
            signature: signed.signature,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use slipway_sign::Algorithm;

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            count: 3,
            head: "ab".repeat(32),
            at_ms: 1_000,
        }
    }

    #[test]
    fn payload_is_canonical_json() {
        assert_eq!(
            String::from_utf8(checkpoint().payload().unwrap()).unwrap(),
            format!(
                r#"{{"at":"1970-01-01T00:00:01.000Z","count":3,"head":"{}","log":"slipway-audit"}}"#,
                "ab".repeat(32)
            )
        );
    }

    #[test]
    fn signatures_verify_only_with_the_right_key_and_payload() {
        for algorithm in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let key = SigningKey::generate(algorithm).unwrap();
            let other = SigningKey::generate(algorithm).unwrap();
            let signed = checkpoint().sign(&key).unwrap();
            signed
                .verify(&[other.public_key(), key.public_key()])
                .unwrap();
            assert!(matches!(
                signed.verify(&[other.public_key()]),
                Err(CheckpointProblem::UntrustedKey { count: 3, .. })
            ));
            let mut moved = signed.clone();
            moved.checkpoint.count = 4;
            assert!(matches!(
                moved.verify(&[key.public_key()]),
                Err(CheckpointProblem::BadSignature { count: 4, .. })
            ));
            let line = serde_json::to_string(&signed).unwrap();
            let back: SignedCheckpoint = serde_json::from_str(&line).unwrap();
            assert_eq!(back, signed);
        }
    }
}
