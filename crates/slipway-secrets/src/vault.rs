//! A HashiCorp Vault KV v2 reader: one GET per secret, a timeout on every
//! request, and a few retries for failures that may pass.

use std::fmt;
use std::hash::{BuildHasher as _, Hasher as _, RandomState};
use std::time::Duration;

use reqwest::Url;
use reqwest::header::HeaderValue;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::resolve::ResolveContext;
use crate::secret::{Secret, SecretError};

/// Attempts per secret, the first included.
pub const MAX_ATTEMPTS: u32 = 3;

/// Largest response body read. A KV v2 read of one secret is a few KiB.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// One Vault request and how it went, for the runner's record of retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// The secret being read.
    pub secret: String,
    /// The KV v2 path requested.
    pub path: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub outcome: AttemptOutcome,
    /// The wait before the next attempt; 0 when none followed.
    pub delay_ms: u64,
}

/// How one Vault request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// A 2xx answer arrived (its content may still be refused).
    Answered,
    /// A non-2xx status; 429 and 5xx are retried.
    Status(u16),
    /// No connection could be made; retried.
    Connect,
    /// The per-request timeout elapsed; not retried, so that an unanswering
    /// Vault holds a job for one timeout, not three.
    Timeout,
    /// Any other transport failure; not retried.
    Failed,
}

impl AttemptOutcome {
    fn is_retryable(&self) -> bool {
        match self {
            Self::Status(status) => *status == 429 || *status >= 500,
            Self::Connect => true,
            Self::Answered | Self::Timeout | Self::Failed => false,
        }
    }
}

impl fmt::Display for AttemptOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Answered => f.write_str("answered"),
            Self::Status(status) => write!(f, "status {status}"),
            Self::Connect => f.write_str("connection failed"),
            Self::Timeout => f.write_str("timed out"),
            Self::Failed => f.write_str("request failed"),
        }
    }
}

/// Checks a `vault` provider's `path` (the KV v2 API path after `/v1/`).
pub(crate) fn check_path(path: &str) -> Result<(), String> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return Err("vault `path` is empty".to_owned());
    }
    if trimmed
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(format!(
            "vault `path` {path} has an empty, `.` or `..` segment"
        ));
    }
    if path.contains(['?', '#']) || path.chars().any(char::is_whitespace) {
        return Err(format!(
            "vault `path` {path} contains `?`, `#` or whitespace; give the plain KV v2 path, \
             e.g. kv/data/ci/api"
        ));
    }
    Ok(())
}

/// Why one attempt failed.
enum Failure {
    Status(u16),
    Timeout,
    Connect(String),
    Other(String),
    TooLarge,
}

impl Failure {
    fn from_reqwest(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::Timeout
        } else if error.is_connect() {
            Self::Connect(describe(error))
        } else {
            Self::Other(describe(error))
        }
    }

    fn outcome(&self) -> AttemptOutcome {
        match self {
            Self::Status(status) => AttemptOutcome::Status(*status),
            Self::Timeout => AttemptOutcome::Timeout,
            Self::Connect(_) => AttemptOutcome::Connect,
            Self::Other(_) => AttemptOutcome::Failed,
            // The server answered; it is its content that is refused.
            Self::TooLarge => AttemptOutcome::Answered,
        }
    }
}

/// The error and its causes, without the URL (it may carry credentials in
/// its user part). The token is a header and never appears in these.
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub(crate) struct VaultClient {
    http: reqwest::Client,
    base: Url,
    token: HeaderValue,
    namespace: Option<HeaderValue>,
    timeout: Duration,
    retry_base_delay: Duration,
}

impl VaultClient {
    /// Reads `VAULT_ADDR`, `VAULT_TOKEN` and `VAULT_NAMESPACE` from the
    /// context; `secret` is the first secret that needs Vault, for the error.
    pub(crate) fn from_context(ctx: &ResolveContext, secret: &str) -> Result<Self, SecretError> {
        let addr = config_var(ctx, "VAULT_ADDR")?.ok_or_else(|| SecretError::VaultAddrMissing {
            secret: secret.to_owned(),
        })?;
        let base = parse_addr(addr.trim()).map_err(|reason| SecretError::VaultConfig {
            var: "VAULT_ADDR",
            reason,
        })?;
        let token =
            config_var(ctx, "VAULT_TOKEN")?.ok_or_else(|| SecretError::VaultTokenMissing {
                secret: secret.to_owned(),
            })?;
        let token = sensitive_header("VAULT_TOKEN", token.trim())?;
        let namespace = config_var(ctx, "VAULT_NAMESPACE")?
            .map(|ns| sensitive_header("VAULT_NAMESPACE", ns.trim()))
            .transpose()?;
        let http = reqwest::Client::builder()
            .timeout(ctx.vault_timeout())
            .build()
            .map_err(|e| SecretError::VaultClient {
                reason: describe(e),
            })?;
        Ok(Self {
            http,
            base,
            token,
            namespace,
            timeout: ctx.vault_timeout(),
            retry_base_delay: ctx.retry_base_delay(),
        })
    }

    /// Reads `field` of the KV v2 secret at `path`, retrying connection
    /// failures, 429 and 5xx up to [`MAX_ATTEMPTS`] in all. Every attempt is
    /// appended to `attempts`.
    pub(crate) async fn read(
        &self,
        secret: &str,
        path: &str,
        field: &str,
        attempts: &mut Vec<AttemptRecord>,
    ) -> Result<Secret, SecretError> {
        let url = self.url_for(path)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.attempt(&url).await;
            let outcome = match &result {
                Ok(_) => AttemptOutcome::Answered,
                Err(failure) => failure.outcome(),
            };
            let retry = outcome.is_retryable() && attempt < MAX_ATTEMPTS;
            let delay = if retry {
                self.backoff(attempt)
            } else {
                Duration::ZERO
            };
            attempts.push(AttemptRecord {
                secret: secret.to_owned(),
                path: path.to_owned(),
                attempt,
                outcome,
                delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            });
            if retry {
                tokio::time::sleep(delay).await;
                continue;
            }
            return match result {
                Ok(body) => extract_field(&body, secret, path, field),
                Err(failure) => Err(self.error(failure, secret, path, attempt)),
            };
        }
    }

    fn url_for(&self, path: &str) -> Result<Url, SecretError> {
        let mut url = self.base.clone();
        // `parse_addr` refused URLs that cannot take a path.
        url.path_segments_mut()
            .map_err(|()| SecretError::VaultConfig {
                var: "VAULT_ADDR",
                reason: "cannot take a path".to_owned(),
            })?
            .pop_if_empty()
            .push("v1")
            .extend(path.trim_matches('/').split('/'));
        Ok(url)
    }

    async fn attempt(&self, url: &Url) -> Result<Zeroizing<Vec<u8>>, Failure> {
        let mut request = self
            .http
            .get(url.clone())
            .header("X-Vault-Token", self.token.clone());
        if let Some(namespace) = &self.namespace {
            request = request.header("X-Vault-Namespace", namespace.clone());
        }
        let mut response = request.send().await.map_err(Failure::from_reqwest)?;
        let status = response.status();
        if !status.is_success() {
            return Err(Failure::Status(status.as_u16()));
        }
        let announced = response.content_length().unwrap_or(0);
        if announced > MAX_BODY_BYTES as u64 {
            return Err(Failure::TooLarge);
        }
        // Reserving up front avoids reallocations that would leave
        // unzeroized copies of the body behind.
        let mut body = Zeroizing::new(Vec::with_capacity(
            usize::try_from(announced).unwrap_or(MAX_BODY_BYTES),
        ));
        while let Some(chunk) = response.chunk().await.map_err(Failure::from_reqwest)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(Failure::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Exponential backoff with up to 50 % random jitter, so that runners
    /// retrying together do not hit Vault in lockstep.
    fn backoff(&self, attempt: u32) -> Duration {
        let exponential = self
            .retry_base_delay
            .saturating_mul(1 << attempt.saturating_sub(1).min(16));
        let half_ms = u64::try_from(exponential.as_millis() / 2).unwrap_or(u64::MAX);
        // A freshly keyed SipHash of nothing is a random number; no RNG crate
        // is needed for jitter.
        let random = RandomState::new().build_hasher().finish();
        exponential + Duration::from_millis(random % half_ms.saturating_add(1))
    }

    fn error(&self, failure: Failure, secret: &str, path: &str, attempts: u32) -> SecretError {
        let secret = secret.to_owned();
        let path = path.to_owned();
        match failure {
            Failure::Status(status) => {
                let detail = match status {
                    401 => " (VAULT_TOKEN is not valid)".to_owned(),
                    403 => " (check VAULT_TOKEN's policy)".to_owned(),
                    404 => " (nothing is stored there; a KV v2 path is <mount>/data/<path>, \
                             e.g. kv/data/ci/api)"
                        .to_owned(),
                    _ if attempts > 1 => format!(" after {attempts} attempts"),
                    _ => String::new(),
                };
                SecretError::VaultStatus {
                    secret,
                    path,
                    status,
                    detail,
                }
            }
            Failure::Timeout => SecretError::VaultTimeout {
                secret,
                path,
                timeout_ms: self.timeout.as_millis(),
            },
            Failure::Connect(reason) | Failure::Other(reason) => SecretError::VaultRequest {
                secret,
                path,
                attempts,
                reason,
            },
            Failure::TooLarge => SecretError::VaultBadResponse {
                secret,
                path,
                reason: format!("the body is larger than {MAX_BODY_BYTES} bytes"),
            },
        }
    }
}

fn config_var(ctx: &ResolveContext, var: &'static str) -> Result<Option<String>, SecretError> {
    match ctx.var(var).map(|v| v.into_string()) {
        None => Ok(None),
        Some(Ok(value)) if value.trim().is_empty() => Ok(None),
        Some(Ok(value)) => Ok(Some(value)),
        Some(Err(_)) => Err(SecretError::VaultConfig {
            var,
            reason: "not valid UTF-8".to_owned(),
        }),
    }
}

fn parse_addr(addr: &str) -> Result<Url, String> {
    // The URL parser's messages do not repeat the input, which may hold
    // credentials in its user part.
    let url = Url::parse(addr).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the scheme must be http or https".to_owned());
    }
    if url.cannot_be_a_base() || url.query().is_some() || url.fragment().is_some() {
        return Err("give the server's base URL, e.g. https://vault.example:8200".to_owned());
    }
    Ok(url)
}

fn sensitive_header(var: &'static str, value: &str) -> Result<HeaderValue, SecretError> {
    let mut header = HeaderValue::from_str(value).map_err(|_| SecretError::VaultConfig {
        var,
        reason: "contains characters not allowed in an HTTP header".to_owned(),
    })?;
    // Keeps it out of the HTTP client's Debug output and HPACK tables.
    header.set_sensitive(true);
    Ok(header)
}

/// Takes `.data.data.<field>` out of a KV v2 read response.
fn extract_field(
    body: &[u8],
    secret: &str,
    path: &str,
    field: &str,
) -> Result<Secret, SecretError> {
    let bad = |reason: String| SecretError::VaultBadResponse {
        secret: secret.to_owned(),
        path: path.to_owned(),
        reason,
    };
    // Only the position of a syntax error is reported: serde_json's messages
    // can quote the input, which holds secret values.
    let mut document: Value = serde_json::from_slice(body).map_err(|e| {
        bad(format!(
            "not JSON (error at line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let Some(data) = document
        .pointer_mut("/data/data")
        .and_then(Value::as_object_mut)
    else {
        return Err(bad("it has no `.data.data` object".to_owned()));
    };
    match data.remove(field) {
        Some(Value::String(value)) => Secret::new(secret, value),
        Some(other) => Err(SecretError::VaultFieldNotString {
            secret: secret.to_owned(),
            path: path.to_owned(),
            field: field.to_owned(),
            kind: json_kind(&other),
        }),
        None => {
            let mut available: Vec<String> = data.keys().cloned().collect();
            available.sort();
            Err(SecretError::VaultFieldMissing {
                secret: secret.to_owned(),
                path: path.to_owned(),
                field: field.to_owned(),
                available,
            })
        }
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked() {
        assert!(check_path("kv/data/ci/api").is_ok());
        assert!(check_path("/kv/data/ci/api/").is_ok());
        assert!(check_path("").is_err());
        assert!(check_path("kv//api").is_err());
        assert!(check_path("kv/../sys").is_err());
        assert!(check_path("kv/data/x?version=2").is_err());
    }

    #[test]
    fn addresses_are_checked() {
        assert!(parse_addr("https://vault.example:8200").is_ok());
        assert!(parse_addr("http://127.0.0.1:8200/").is_ok());
        assert!(parse_addr("vault.example:8200").is_err());
        assert!(parse_addr("ftp://vault.example").is_err());
        assert!(parse_addr("https://vault.example/?x=1").is_err());
        let err = parse_addr("https://user:hunter22@[bad").expect_err("invalid");
        assert!(!err.contains("hunter22"), "{err}");
    }

    #[test]
    fn field_extraction_never_quotes_the_body() {
        let err = extract_field(b"{\"data\": \"hunter22-secret", "S", "kv/data/x", "key")
            .expect_err("truncated JSON");
        assert!(!err.to_string().contains("hunter22"), "{err}");
        let err = extract_field(
            br#"{"data":{"data":{"key":1234}}}"#,
            "S",
            "kv/data/x",
            "key",
        )
        .expect_err("number");
        assert_eq!(
            err.to_string(),
            "secret `S`: field `key` at kv/data/x is a JSON number, not a string"
        );
    }
}
