//! The crate's error type: what went wrong, where, and how to fix it. No variant ever carries a
//! passphrase or private key material.

use std::path::PathBuf;

/// Why a key, a signature, an envelope, a bundle or a policy could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A key file would be overwritten.
    #[error(
        "{} already exists (hint: pass --force to replace it, or choose another output prefix)",
        path.display()
    )]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },
    /// Key material that cannot be read: bad PEM, a wrong PEM label, bad DER.
    #[error("{source_name}: {message} (hint: {hint})")]
    InvalidKey {
        /// Where the key came from: a file path or a description.
        source_name: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
    /// A well-formed key of a type this crate does not sign or verify with.
    #[error(
        "{source_name}: {key_type} keys are not supported (hint: use an ECDSA P-256 or Ed25519 key, e.g. from `slipway keys generate`)"
    )]
    UnsupportedKeyType {
        /// Where the key came from.
        source_name: String,
        /// The key type found (a name, or the algorithm OID when unknown).
        key_type: String,
    },
    /// The encrypted private key did not open.
    #[error(
        "{source_name}: wrong passphrase or corrupt key file (hint: check the passphrase in SLIPWAY_KEY_PASSPHRASE, or regenerate the key)"
    )]
    WrongPassphrase {
        /// The key file.
        source_name: String,
    },
    /// No passphrase could be obtained: no variable and no terminal to ask on.
    #[error(
        "no passphrase for the private key: set the environment variable {variable} (no terminal to prompt on)"
    )]
    PassphraseUnavailable {
        /// The environment variable to set.
        variable: &'static str,
    },
    /// A passphrase was refused (empty, or the confirmation differed).
    #[error("{0}")]
    Passphrase(String),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(String),
    /// Evidence that cannot be parsed: an envelope, a bundle, a statement, a signature file.
    #[error("{what}: {message}")]
    Malformed {
        /// What was being read, e.g. "DSSE envelope".
        what: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A signature does not verify with the key.
    #[error("signature verification failed: {0}")]
    BadSignature(String),
    /// A DSSE envelope has fewer valid signatures from distinct trusted keys than required.
    #[error(
        "DSSE envelope: {verified} of the required {threshold} signature(s) verified with distinct trusted keys ({signatures} signature(s), {trusted} trusted key(s))"
    )]
    Threshold {
        /// Signatures required.
        threshold: usize,
        /// Distinct trusted keys whose signature verified.
        verified: usize,
        /// Signatures in the envelope.
        signatures: usize,
        /// Distinct trusted keys offered.
        trusted: usize,
    },
    /// A digest recorded in a bundle does not match the blob.
    #[error("digest mismatch: the bundle records sha256 {recorded}, the file has sha256 {actual}")]
    DigestMismatch {
        /// Lowercase hex digest recorded in the evidence.
        recorded: String,
        /// Lowercase hex digest of the blob.
        actual: String,
    },
    /// An attestation verified but does not name the blob among its subjects.
    #[error("the attestation's subjects do not include the file's sha256 {digest}")]
    SubjectMismatch {
        /// Lowercase hex sha256 of the blob.
        digest: String,
    },
    /// A bundle whose verification material is a certificate (keyless signing).
    #[error(
        "keyless bundles need a trust root; not supported (hint: verify bundles signed with a key, `publicKey` verification material)"
    )]
    KeylessBundle,
    /// A trust policy problem, located in the policy file.
    #[error("{}:{line}:{column}: {message} (hint: {hint})", file.display())]
    Policy {
        /// The policy file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: String,
    },
}

impl Error {
    /// True when the checked evidence itself is at fault (a bad or missing signature, a digest
    /// mismatch, unreadable evidence), as opposed to a usage or configuration problem (a missing
    /// file, a bad key, an unsupported bundle kind).
    pub fn is_verification_failure(&self) -> bool {
        matches!(
            self,
            Error::Malformed { .. }
                | Error::BadSignature(_)
                | Error::Threshold { .. }
                | Error::DigestMismatch { .. }
                | Error::SubjectMismatch { .. }
        )
    }

    pub(crate) fn malformed(what: &'static str, message: impl Into<String>) -> Self {
        Error::Malformed {
            what,
            message: message.into(),
        }
    }

    pub(crate) fn invalid_key(
        source_name: &str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Error::InvalidKey {
            source_name: source_name.to_string(),
            message: message.into(),
            hint: hint.into(),
        }
    }
}
