//! Loading the secrets a job declares from their providers.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use zeroize::{Zeroize as _, Zeroizing};

use crate::secret::{Secret, SecretError};
use crate::vault::{AttemptRecord, VaultClient};

/// Largest secret file read. Secret files are keys and passwords; a bigger
/// file is a wrong path (and `/dev/zero` must not be read forever).
pub const MAX_SECRET_FILE_BYTES: usize = 1024 * 1024;

/// Where one secret's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// A variable of the invoking environment (as seen through
    /// [`ResolveContext`]), used as it is.
    Env { name: String },
    /// A file's contents, UTF-8. One trailing newline (`\n` or `\r\n`) is
    /// removed, since editors and `echo` add one that is not part of the value.
    File { path: PathBuf },
    /// A HashiCorp Vault KV v2 read: `GET {VAULT_ADDR}/v1/{path}`, value at
    /// `.data.data.{field}`. `path` includes the mount and `data/`, e.g.
    /// `kv/data/ci/api`.
    Vault { path: String, field: String },
}

type EnvLookup = Box<dyn Fn(&str) -> Option<OsString> + Send + Sync>;

/// What resolving needs from the outside: an environment to read variables
/// (and `VAULT_ADDR`, `VAULT_TOKEN`, optional `VAULT_NAMESPACE`) from, and
/// the Vault client's timing.
pub struct ResolveContext {
    env: EnvLookup,
    vault_timeout: Duration,
    retry_base_delay: Duration,
}

impl ResolveContext {
    /// Per-request Vault timeout unless changed.
    pub const DEFAULT_VAULT_TIMEOUT: Duration = Duration::from_secs(10);
    /// First retry delay unless changed; it doubles for each later retry.
    pub const DEFAULT_RETRY_BASE_DELAY: Duration = Duration::from_millis(250);

    /// Reads variables through `lookup`.
    pub fn new(lookup: impl Fn(&str) -> Option<OsString> + Send + Sync + 'static) -> Self {
        Self {
            env: Box::new(lookup),
            vault_timeout: Self::DEFAULT_VAULT_TIMEOUT,
            retry_base_delay: Self::DEFAULT_RETRY_BASE_DELAY,
        }
    }

    /// Reads variables from this process's environment.
    pub fn from_process_env() -> Self {
        Self::new(|name| std::env::var_os(name))
    }

    /// Reads variables from a fixed map (tests, or an environment captured
    /// earlier).
    pub fn from_map<K: Into<String>, V: Into<OsString>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let vars: HashMap<String, OsString> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self::new(move |name| vars.get(name).cloned())
    }

    /// Timeout of one Vault request, connecting through reading the body.
    pub fn with_vault_timeout(mut self, timeout: Duration) -> Self {
        self.vault_timeout = timeout;
        self
    }

    /// Delay before the first Vault retry; doubled for the next, plus jitter.
    pub fn with_retry_base_delay(mut self, delay: Duration) -> Self {
        self.retry_base_delay = delay;
        self
    }

    pub(crate) fn var(&self, name: &str) -> Option<OsString> {
        (self.env)(name)
    }

    pub(crate) fn vault_timeout(&self) -> Duration {
        self.vault_timeout
    }

    pub(crate) fn retry_base_delay(&self) -> Duration {
        self.retry_base_delay
    }
}

impl fmt::Debug for ResolveContext {
    // The environment holds other credentials: show only the timing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolveContext")
            .field("vault_timeout", &self.vault_timeout)
            .field("retry_base_delay", &self.retry_base_delay)
            .finish_non_exhaustive()
    }
}

/// The outcome of [`resolve_all`]: the secrets or the first error, and every
/// Vault attempt made either way, so that the runner can record retries.
#[derive(Debug)]
pub struct Resolution {
    pub result: Result<Vec<(String, Secret)>, SecretError>,
    pub attempts: Vec<AttemptRecord>,
}

/// Loads the requested secrets in order; stops at the first error.
///
/// Names, duplicates and provider fields are all checked before anything is
/// read, so a typo in the last declaration does not cost a Vault round trip.
pub async fn resolve_all(requests: &[(String, Provider)], ctx: &ResolveContext) -> Resolution {
    let mut attempts = Vec::new();
    let result = resolve_into(requests, ctx, &mut attempts).await;
    Resolution { result, attempts }
}

async fn resolve_into(
    requests: &[(String, Provider)],
    ctx: &ResolveContext,
    attempts: &mut Vec<AttemptRecord>,
) -> Result<Vec<(String, Secret)>, SecretError> {
    check_requests(requests)?;
    // Built on first use: pipelines without Vault secrets need no VAULT_ADDR.
    let mut vault: Option<VaultClient> = None;
    let mut secrets = Vec::with_capacity(requests.len());
    for (name, provider) in requests {
        let secret = match provider {
            Provider::Env { name: var } => from_env(ctx, name, var)?,
            Provider::File { path } => from_file(name, path)?,
            Provider::Vault { path, field } => {
                let client = match &mut vault {
                    Some(client) => client,
                    slot @ None => slot.insert(VaultClient::from_context(ctx, name)?),
                };
                client.read(name, path, field, attempts).await?
            }
        };
        secrets.push((name.clone(), secret));
    }
    Ok(secrets)
}

fn check_requests(requests: &[(String, Provider)]) -> Result<(), SecretError> {
    let mut seen = HashSet::new();
    for (name, provider) in requests {
        if !is_env_var_name(name) {
            return Err(SecretError::InvalidName { name: name.clone() });
        }
        if !seen.insert(name.as_str()) {
            return Err(SecretError::Duplicate {
                secret: name.clone(),
            });
        }
        let invalid = |reason: &str| SecretError::InvalidSource {
            secret: name.clone(),
            reason: reason.to_owned(),
        };
        match provider {
            // `std::env::var_os` rejects such names; say why instead.
            Provider::Env { name: var } if var.is_empty() || var.contains(['=', '\0']) => {
                return Err(invalid(
                    "env `name` must be a non-empty variable name without `=` or NUL",
                ));
            }
            Provider::File { path } if path.as_os_str().is_empty() => {
                return Err(invalid("file `path` is empty"));
            }
            Provider::Vault { path, field } => {
                crate::vault::check_path(path).map_err(|reason| invalid(&reason))?;
                if field.is_empty() {
                    return Err(invalid("vault `field` is empty"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Job steps receive secrets as environment variables, so the name must be
/// one that every shell can read back.
fn is_env_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn from_env(ctx: &ResolveContext, secret: &str, var: &str) -> Result<Secret, SecretError> {
    let value = ctx.var(var).ok_or_else(|| SecretError::EnvNotSet {
        secret: secret.to_owned(),
        var: var.to_owned(),
    })?;
    match value.into_string() {
        Ok(value) => Secret::new(secret, value),
        Err(raw) => {
            raw.into_encoded_bytes().zeroize();
            Err(SecretError::EnvNotUtf8 {
                secret: secret.to_owned(),
                var: var.to_owned(),
            })
        }
    }
}

fn from_file(secret: &str, path: &Path) -> Result<Secret, SecretError> {
    let read_error = |error| SecretError::FileRead {
        secret: secret.to_owned(),
        path: path.to_owned(),
        error,
    };
    // Secret files are small and local; a blocking read costs microseconds.
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_SECRET_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() > MAX_SECRET_FILE_BYTES {
        return Err(SecretError::FileTooLarge {
            secret: secret.to_owned(),
            path: path.to_owned(),
            limit: MAX_SECRET_FILE_BYTES,
        });
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| SecretError::FileNotUtf8 {
        secret: secret.to_owned(),
        path: path.to_owned(),
    })?;
    let value = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    Secret::new(secret, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_var_names() {
        assert!(is_env_var_name("API_KEY"));
        assert!(is_env_var_name("_x1"));
        assert!(!is_env_var_name(""));
        assert!(!is_env_var_name("1X"));
        assert!(!is_env_var_name("A-B"));
        assert!(!is_env_var_name("A=B"));
    }
}
