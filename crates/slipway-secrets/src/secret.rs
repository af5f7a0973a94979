//! The [`Secret`] value type and the crate's error type.

use std::fmt;
use std::path::PathBuf;

use zeroize::Zeroizing;

/// Shortest value accepted, in characters. Masking a shorter value would
/// replace ordinary text (`on`, `123`) all over the logs.
pub const MIN_SECRET_CHARS: usize = 4;

/// A named secret value.
///
/// `Debug` and `Display` print `Secret(NAME, ***)`; the value is only reachable
/// through [`Secret::expose`], so it cannot end up in a log line by accident.
/// The value's memory is overwritten with zeros when the `Secret` is dropped
/// (copies made by callers of `expose` are theirs to look after).
#[derive(Clone)]
pub struct Secret {
    name: String,
    value: Zeroizing<String>,
}

impl Secret {
    /// Checks the value and wraps it.
    ///
    /// Refused: an empty value, a value of only whitespace, a value shorter
    /// than [`MIN_SECRET_CHARS`] characters, and a multi-line value none of
    /// whose lines reaches that length (line-by-line log masking could not
    /// hide any of it). The error names the secret, never the value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Result<Self, SecretError> {
        // Wrap first so that the value is zeroized on the refusal paths too.
        let secret = Self {
            name: name.into(),
            value: Zeroizing::new(value.into()),
        };
        secret.check()?;
        Ok(secret)
    }

    fn check(&self) -> Result<(), SecretError> {
        let value = self.value.as_str();
        let secret = || self.name.clone();
        if value.is_empty() {
            return Err(SecretError::Empty { secret: secret() });
        }
        if value.trim().is_empty() {
            return Err(SecretError::Blank { secret: secret() });
        }
        let len = value.chars().count();
        if len < MIN_SECRET_CHARS {
            return Err(SecretError::TooShort {
                secret: secret(),
                len,
            });
        }
        if value.contains('\n')
            && !value
                .split('\n')
                .any(|line| line.trim().chars().count() >= MIN_SECRET_CHARS)
        {
            return Err(SecretError::LinesTooShort { secret: secret() });
        }
        Ok(())
    }

    /// The secret's name (the environment variable a job step sees).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value itself. Call this only to hand it to a job step or a masker.
    pub fn expose(&self) -> &str {
        &self.value
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({}, ***)", self.name)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Why a secret could not be loaded. No variant holds a secret value or the
/// Vault token, so these can be logged and shown as they are.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    #[error(
        "secret name `{name}` is not a valid environment variable name \
         (letters, digits and `_`, not starting with a digit)"
    )]
    InvalidName { name: String },
    #[error("secret `{secret}` is declared twice")]
    Duplicate { secret: String },
    #[error("secret `{secret}`: {reason}")]
    InvalidSource { secret: String, reason: String },
    #[error("secret `{secret}`: value is empty")]
    Empty { secret: String },
    #[error("secret `{secret}`: value is only whitespace; masking it would hide ordinary text")]
    Blank { secret: String },
    #[error(
        "secret `{secret}`: value is {len} characters; secrets shorter than 4 are refused \
         because masking them would hide ordinary text"
    )]
    TooShort { secret: String, len: usize },
    #[error(
        "secret `{secret}`: value has several lines but none of 4 characters or more; \
         line-by-line log masking could not hide it"
    )]
    LinesTooShort { secret: String },
    #[error("secret `{secret}`: environment variable `{var}` is not set")]
    EnvNotSet { secret: String, var: String },
    #[error("secret `{secret}`: environment variable `{var}` is not valid UTF-8")]
    EnvNotUtf8 { secret: String, var: String },
    #[error("secret `{secret}`: cannot read {}: {error}", path.display())]
    FileRead {
        secret: String,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("secret `{secret}`: {} is larger than {limit} bytes; not a secret file?", path.display())]
    FileTooLarge {
        secret: String,
        path: PathBuf,
        limit: usize,
    },
    #[error("secret `{secret}`: {} is not valid UTF-8", path.display())]
    FileNotUtf8 { secret: String, path: PathBuf },
    #[error("VAULT_ADDR is not set but secret `{secret}` comes from vault")]
    VaultAddrMissing { secret: String },
    #[error("VAULT_TOKEN is not set but secret `{secret}` comes from vault")]
    VaultTokenMissing { secret: String },
    #[error("{var} is not usable: {reason}")]
    VaultConfig { var: &'static str, reason: String },
    #[error("cannot start the vault client: {reason}")]
    VaultClient { reason: String },
    #[error("secret `{secret}`: vault returned {status} for {path}{detail}")]
    VaultStatus {
        secret: String,
        path: String,
        status: u16,
        detail: String,
    },
    #[error("secret `{secret}`: vault did not answer for {path} within {timeout_ms} ms")]
    VaultTimeout {
        secret: String,
        path: String,
        timeout_ms: u128,
    },
    #[error(
        "secret `{secret}`: vault request for {path} failed after {attempts} attempt(s): {reason}"
    )]
    VaultRequest {
        secret: String,
        path: String,
        attempts: u32,
        reason: String,
    },
    #[error("secret `{secret}`: vault answer for {path} is not a KV v2 read response: {reason}")]
    VaultBadResponse {
        secret: String,
        path: String,
        reason: String,
    },
    #[error("secret `{secret}`: field `{field}` not found at {path} (fields there: {})", available.join(", "))]
    VaultFieldMissing {
        secret: String,
        path: String,
        field: String,
        available: Vec<String>,
    },
    #[error("secret `{secret}`: field `{field}` at {path} is a JSON {kind}, not a string")]
    VaultFieldNotString {
        secret: String,
        path: String,
        field: String,
        kind: &'static str,
    },
    #[error("cannot build the log masker: {reason}")]
    Masker { reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("API_KEY", "hunter2-very-secret").expect("valid");
        assert_eq!(format!("{s:?}"), "Secret(API_KEY, ***)");
        assert_eq!(s.to_string(), "Secret(API_KEY, ***)");
        assert_eq!(format!("{:?}", vec![s.clone()]), "[Secret(API_KEY, ***)]");
        assert_eq!(s.expose(), "hunter2-very-secret");
        assert_eq!(s.name(), "API_KEY");
    }

    #[test]
    fn short_empty_and_blank_values_are_refused() {
        let err = Secret::new("X", "abc").expect_err("too short");
        assert_eq!(
            err.to_string(),
            "secret `X`: value is 3 characters; secrets shorter than 4 are refused \
             because masking them would hide ordinary text"
        );
        // Characters, not bytes: three multibyte characters are still three.
        assert!(matches!(
            Secret::new("X", "日本語"),
            Err(SecretError::TooShort { len: 3, .. })
        ));
        assert!(Secret::new("X", "日本語!").is_ok());
        assert!(matches!(
            Secret::new("X", ""),
            Err(SecretError::Empty { .. })
        ));
        assert!(matches!(
            Secret::new("X", " \t \n "),
            Err(SecretError::Blank { .. })
        ));
        assert!(matches!(
            Secret::new("X", "ab\ncd\nef"),
            Err(SecretError::LinesTooShort { .. })
        ));
        assert!(Secret::new("X", "ab\ncdef").is_ok());
    }
}
