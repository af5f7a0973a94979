//! Typed errors of the proxy: bad routes, bad configuration, listeners that cannot bind.

use std::net::SocketAddr;

/// Why the proxy refused to start or refused a route change.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The routes break a rule; the proxy keeps the routes it had.
    #[error("invalid routes: {0}")]
    Routes(#[from] RouteError),
    /// A field of [`crate::ProxyConfig`] is out of range.
    #[error("invalid proxy configuration: {field}: {reason}")]
    Config {
        /// The offending field of `ProxyConfig`.
        field: &'static str,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A listener could not bind its address.
    #[error(
        "cannot listen on {addr} for the {listener}: {source} (pick a free port, or port 0 to let the system choose)"
    )]
    Bind {
        /// Which listener: "proxy" or "admin".
        listener: &'static str,
        /// The address that could not be bound.
        addr: SocketAddr,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

/// A rule that a [`crate::Routes`] value breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// A backend without a version name.
    #[error("backend #{index} has an empty version: name every version (it labels metrics)")]
    EmptyVersion {
        /// Position of the backend in `Routes::backends`, from 0.
        index: usize,
    },
    /// A version name that cannot travel in the `x-slipway-version` response header.
    #[error(
        "version {version:?} cannot be sent in a header: use visible ASCII characters without control characters"
    )]
    InvalidVersion {
        /// The version as given.
        version: String,
    },
    /// Two backends share one version name.
    #[error("version {version:?} is listed twice: merge its instances into one backend")]
    DuplicateVersion {
        /// The repeated version.
        version: String,
    },
    /// A weight above 10000 basis points.
    #[error("version {version:?} has weight {weight_bp} bp: weights are basis points, 0..=10000")]
    WeightOutOfRange {
        /// The version.
        version: String,
        /// The weight given.
        weight_bp: u32,
    },
    /// The weights do not add up to 100%.
    #[error(
        "weights sum to {sum_bp} bp ({weights}); they must sum to exactly 10000 bp (100%): adjust them"
    )]
    WeightSum {
        /// The sum of all weights.
        sum_bp: u64,
        /// `version=weight` for each backend, for the message.
        weights: String,
    },
    /// A version that should receive traffic has nowhere to send it.
    #[error(
        "version {version:?} has weight {weight_bp} bp but no instances: give it an instance address or weight 0"
    )]
    NoInstances {
        /// The version.
        version: String,
        /// Its non-zero weight.
        weight_bp: u32,
    },
}
