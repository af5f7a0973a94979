//! What can go wrong, each with what failed, where, and how to fix it.

use std::path::PathBuf;
use std::time::Duration;

/// A push or pull failure. Messages never contain a password or a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The reference string does not parse.
    #[error(
        "invalid registry reference `{input}` at column {column}: {reason}; expected \
         host[:port]/repository[:tag][@sha256:<64 hex digits>], e.g. 127.0.0.1:5000/team/app:1.0"
    )]
    InvalidReference {
        /// The reference as given.
        input: String,
        /// 1-based character column of the problem.
        column: usize,
        /// What is wrong there.
        reason: String,
    },
    /// A digest given as an argument is malformed.
    #[error("invalid digest argument: {reason}")]
    InvalidDigest {
        /// What is wrong with it.
        reason: String,
    },
    /// The OCI layout to push is missing a part or has an invalid one.
    #[error("OCI layout {location}: {reason}")]
    Layout {
        /// The file, with `:line:col` for JSON errors.
        location: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A file or directory could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "cannot write".
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Content does not hash to the digest that names it.
    #[error(
        "{what}: expected digest {expected} but the content hashes to {actual}; refusing it \
         (it was corrupted or tampered with)"
    )]
    DigestMismatch {
        /// The content, e.g. "blob sha256:… from 127.0.0.1:5000/app".
        what: String,
        /// The digest the content was asked for by.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },
    /// Content is not the size its descriptor says.
    #[error("{what}: expected {expected} bytes but got {actual}; refusing it")]
    SizeMismatch {
        /// The content.
        what: String,
        /// The descriptor's size.
        expected: u64,
        /// The bytes received (a download stops at the first byte too many).
        actual: u64,
    },
    /// The registry wants credentials and none were given.
    #[error(
        "the registry {registry} requires credentials; set SLIPWAY_REGISTRY_USERNAME and \
         SLIPWAY_REGISTRY_PASSWORD"
    )]
    CredentialsRequired {
        /// `host[:port]`.
        registry: String,
    },
    /// The registry rejected the credentials given.
    #[error(
        "the registry {registry} refused the credentials of user `{username}`; set \
         SLIPWAY_REGISTRY_USERNAME/SLIPWAY_REGISTRY_PASSWORD to a valid account"
    )]
    Unauthorized {
        /// `host[:port]`.
        registry: String,
        /// The account name (never the password).
        username: String,
    },
    /// The account may not do this (HTTP 403).
    #[error(
        "{what}: the registry {registry} denied it (HTTP 403){detail}; give the account \
         {access} access to the repository"
    )]
    Denied {
        /// The request.
        what: String,
        /// `host[:port]`.
        registry: String,
        /// "pull" or "push".
        access: &'static str,
        /// The registry's own explanation, if any.
        detail: String,
    },
    /// The manifest asked for does not exist.
    #[error("{what}: not found in {registry} (HTTP 404){detail}; check the repository and tag")]
    NotFound {
        /// The manifest looked for.
        what: String,
        /// `host[:port]`.
        registry: String,
        /// The registry's own explanation, if any.
        detail: String,
    },
    /// The registry answered a status that retrying would not change.
    #[error("{what}: the registry {registry} answered HTTP {status}{detail}")]
    Status {
        /// The request.
        what: String,
        /// `host[:port]`.
        registry: String,
        /// The HTTP status.
        status: u16,
        /// The registry's own explanation, if any.
        detail: String,
    },
    /// Retries ran out on a failure that may pass.
    #[error(
        "{what}: the registry {registry} is unavailable after {attempts} attempts (last: \
         {last_error}); check that it runs and is reachable, or allow more retries"
    )]
    Unavailable {
        /// The request.
        what: String,
        /// `host[:port]`.
        registry: String,
        /// Attempts made, the first included.
        attempts: u32,
        /// Why the last attempt failed.
        last_error: String,
    },
    /// A request got no complete answer within the request timeout.
    #[error(
        "{what}: no complete answer from {registry} within {timeout:?}; raise the request \
         timeout for large blobs or slow links"
    )]
    Timeout {
        /// The request.
        what: String,
        /// `host[:port]`.
        registry: String,
        /// The timeout that elapsed.
        timeout: Duration,
    },
    /// A request failed in a way that is not worth retrying (TLS, a malformed answer).
    #[error("{what}: the request to {registry} failed: {reason}")]
    Transport {
        /// The request.
        what: String,
        /// `host[:port]`.
        registry: String,
        /// The cause.
        reason: String,
    },
    /// The registry broke the distribution protocol.
    #[error("{what}: the registry {registry} broke the OCI distribution protocol: {reason}")]
    Protocol {
        /// The request.
        what: String,
        /// `host[:port]`.
        registry: String,
        /// What was wrong with its answer.
        reason: String,
    },
    /// The content is valid but of a kind this crate does not handle.
    #[error("{0}")]
    Unsupported(String),
    /// The pull destination already holds something.
    #[error(
        "cannot pull into {}: it exists and is not an empty directory; choose a new directory \
         or remove it first", path.display()
    )]
    DestinationNotEmpty {
        /// The destination directory.
        path: PathBuf,
    },
}
