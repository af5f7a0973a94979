//! How to reach a registry: scheme, credentials, timeouts and retries.

use std::fmt;
use std::time::Duration;

use zeroize::Zeroizing;

/// Whether to speak plain HTTP instead of HTTPS to the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlainHttp {
    /// Plain HTTP for loopback registries (`localhost`, `127.0.0.1`, `::1`), HTTPS otherwise:
    /// a registry on the same machine is where TLS is usually absent and nothing crosses a
    /// network.
    #[default]
    Auto,
    /// Plain HTTP whatever the host is.
    Always,
    /// HTTPS whatever the host is.
    Never,
}

impl PlainHttp {
    /// Whether `registry` (`host[:port]`) is spoken to over plain HTTP.
    pub(crate) fn applies_to(self, host: &str) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => matches!(host, "localhost" | "127.0.0.1" | "[::1]"),
        }
    }
}

/// A registry account. The password is wiped from memory when dropped and never shown by
/// `Debug`.
#[derive(Clone)]
pub struct Credentials {
    username: String,
    password: Zeroizing<String>,
}

impl Credentials {
    /// An account of the registry's basic or token authentication.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            username: username.into(),
            password: Zeroizing::new(password.into()),
        }
    }

    /// The account name, which errors may show.
    pub fn username(&self) -> &str {
        &self.username
    }

    pub(crate) fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Bounded exponential backoff for failures that may pass: connection refused, HTTP 5xx,
/// HTTP 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt; 0 disables retrying.
    pub max_retries: u32,
    /// The wait before the first retry.
    pub initial_backoff: Duration,
    /// What each further wait is multiplied by.
    pub factor: u32,
    /// The longest wait, also the cap on a registry's `Retry-After`.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the first retry).
    pub fn backoff(&self, retry: u32) -> Duration {
        let growth = self.factor.max(1).saturating_pow(retry.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(growth)
            .min(self.max_backoff)
    }
}

impl Default for RetryPolicy {
    /// Four retries waiting 0.5, 1, 2 and 4 s: about 7.5 s for a registry that restarts.
    fn default() -> Self {
        Self {
            max_retries: 4,
            initial_backoff: Duration::from_millis(500),
            factor: 2,
            max_backoff: Duration::from_secs(8),
        }
    }
}

/// Everything a push or pull needs besides the layout and the reference.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Plain HTTP or HTTPS.
    pub plain_http: PlainHttp,
    /// The account to authenticate with; `None` for anonymous access.
    pub credentials: Option<Credentials>,
    /// The longest one HTTP request may take, body included (a blob chunk's upload or a
    /// blob's download): raise it for large blobs on slow links.
    pub request_timeout: Duration,
    /// The longest a TCP (and TLS) connection may take to open.
    pub connect_timeout: Duration,
    /// Retries of failures that may pass.
    pub retries: RetryPolicy,
    /// Blobs up to this size are uploaded in one request; larger ones in chunks of this size.
    pub chunk_size: usize,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            plain_http: PlainHttp::Auto,
            credentials: None,
            request_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
            retries: RetryPolicy::default(),
            chunk_size: 16 * 1024 * 1024,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_by_the_factor_and_stops_at_the_cap() {
        let policy = RetryPolicy {
            max_retries: 10,
            initial_backoff: Duration::from_millis(100),
            factor: 3,
            max_backoff: Duration::from_secs(2),
        };
        let waits: Vec<u128> = (1..=5).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(waits, [100, 300, 900, 2000, 2000]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_secs(2));
    }

    #[test]
    fn auto_plain_http_is_for_loopback_only() {
        assert!(PlainHttp::Auto.applies_to("127.0.0.1"));
        assert!(PlainHttp::Auto.applies_to("localhost"));
        assert!(PlainHttp::Auto.applies_to("[::1]"));
        assert!(!PlainHttp::Auto.applies_to("registry.example.com"));
        assert!(!PlainHttp::Auto.applies_to("127.0.0.2"));
        assert!(PlainHttp::Always.applies_to("registry.example.com"));
        assert!(!PlainHttp::Never.applies_to("127.0.0.1"));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let credentials = Credentials::new("ci", "hunter2-very-secret");
        let shown = format!("{credentials:?}");
        assert!(shown.contains("ci"));
        assert!(!shown.contains("hunter2"));
    }
}
