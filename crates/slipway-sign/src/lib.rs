//! Signing and verification for Slipway's evidence: keys, DSSE envelopes, in-toto statements,
//! cosign-compatible blob signatures, key-based Sigstore bundles and the trust policy that says
//! which keys may speak for which builder.
//!
//! Everything is built on RustCrypto (`p256`, `ed25519-dalek`, `sha2`, `scrypt`,
//! `crypto_secretbox`); the wire formats follow their specifications byte for byte so that
//! cosign, sigstore clients, securesystemslib and the in-toto tooling accept what this crate
//! writes (see the crate README, "Interoperability").
//!
//! - [`SigningKey`] / [`PublicKey`]: ECDSA P-256 with SHA-256 and ASN.1 DER signatures (the
//!   default, cosign's own) or Ed25519; PKIX PEM public keys; [`keyfile`] stores private keys
//!   encrypted exactly like cosign's `ENCRYPTED SIGSTORE PRIVATE KEY`.
//! - [`dsse`]: the DSSE v1 envelope, signed over the pre-authentication encoding.
//! - [`intoto`]: the in-toto Statement v1.
//! - [`blob`]: cosign's key-based `sign-blob` signatures.
//! - [`bundle`]: Sigstore bundles (v0.3 written; v0.1–v0.3 read) for key-based signatures.
//! - [`trust`]: the `trust.yml` policy mapping builder ids to their public keys.

#![warn(missing_docs)]

mod b64;
pub mod blob;
pub mod bundle;
pub mod dsse;
mod error;
pub mod intoto;
mod key;
pub mod keyfile;
pub mod trust;

pub use bundle::Bundle;
pub use dsse::Envelope;
pub use error::Error;
pub use intoto::Statement;
pub use key::{Algorithm, PublicKey, SigningKey};
pub use keyfile::Passphrase;
pub use trust::TrustPolicy;
