//! cosign-compatible key-based blob signatures (`cosign sign-blob --key`): the signature is over
//! the raw bytes of the file (ECDSA P-256 hashes them with SHA-256; Ed25519 signs them as they
//! are), with no envelope, and the signature file holds it as base64 text.

use crate::{Error, PublicKey, SigningKey, b64};
use sha2::{Digest as _, Sha256};

/// Signs the blob's bytes: a DER ECDSA P-256/SHA-256 signature, or an Ed25519 signature.
pub fn sign_blob(key: &SigningKey, blob: &[u8]) -> Vec<u8> {
    key.sign(blob)
}

/// Checks a blob signature made by [`sign_blob`] or `cosign sign-blob`.
pub fn verify_blob(key: &PublicKey, signature: &[u8], blob: &[u8]) -> Result<(), Error> {
    key.verify(blob, signature)
}

/// Lowercase hex SHA-256 of a blob: how subjects and reports name it.
pub fn sha256_hex(blob: &[u8]) -> String {
    hex::encode(Sha256::digest(blob))
}

/// The text of a signature file: standard base64, as `cosign sign-blob` prints it.
pub fn encode_signature(signature: &[u8]) -> String {
    b64::encode(signature)
}

/// Reads the text of a signature file (surrounding whitespace ignored).
pub fn decode_signature(text: &str) -> Result<Vec<u8>, Error> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Error::malformed("signature file", "it is empty"));
    }
    b64::decode(trimmed).ok_or_else(|| {
        Error::malformed(
            "signature file",
            "not base64; expected the base64 text written by `slipway sign-blob` or `cosign sign-blob`",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Algorithm;

    #[test]
    fn signature_file_round_trip() {
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let signature = sign_blob(&key, b"artifact bytes");
        let text = format!("{}\n", encode_signature(&signature));
        let read = decode_signature(&text).unwrap();
        verify_blob(&key.public_key(), &read, b"artifact bytes").unwrap();
        assert!(verify_blob(&key.public_key(), &read, b"artifact byteS").is_err());
    }

    #[test]
    fn empty_or_garbled_signature_files_are_malformed() {
        assert!(
            decode_signature(" \n")
                .unwrap_err()
                .is_verification_failure()
        );
        assert!(
            decode_signature("***")
                .unwrap_err()
                .is_verification_failure()
        );
    }
}
