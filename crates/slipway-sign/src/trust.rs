//! The trust policy (`trust.yml`): which public keys may sign for which builder.
//!
//! ```yaml
//! version: 1
//! builders:
//!   - id: https://slipway.dev/builders/local/v1   # runDetails.builder.id in provenance
//!     keys:
//!       - path: keys/ci.pub                       # relative to this file
//!       - pem: |
//!           -----BEGIN PUBLIC KEY-----
//!           ...
//!           -----END PUBLIC KEY-----
//! ```
//!
//! Every problem is reported with the file, line and column it comes from, and a way to fix it.

use crate::{Error, PublicKey};
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};
use std::path::{Path, PathBuf};

/// The only policy version there is.
const VERSION: u64 = 1;

const SHAPE_HINT: &str = "trust.yml has `version: 1` and `builders:`, a list of `id:` and `keys:`, each key a `path:` or a `pem:`";

/// Public keys by builder id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustPolicy {
    builders: Vec<TrustedBuilder>,
}

/// One builder and the keys that may sign for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedBuilder {
    /// The builder id, as provenance writes it in `runDetails.builder.id`.
    pub id: String,
    /// Its keys, without duplicates.
    pub keys: Vec<PublicKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: Spanned<u64>,
    #[serde(default)]
    builders: Vec<RawBuilder>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBuilder {
    id: Spanned<String>,
    keys: Spanned<Vec<Spanned<RawKey>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    path: Option<Spanned<String>>,
    pem: Option<Spanned<String>>,
}

impl TrustPolicy {
    /// Reads a policy file; key paths in it are relative to its directory.
    pub fn load(path: &Path) -> Result<TrustPolicy, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        TrustPolicy::parse(&text, path, base)
    }

    /// Reads policy text; `file` names it in errors and key paths are relative to `base`.
    pub fn parse(text: &str, file: &Path, base: &Path) -> Result<TrustPolicy, Error> {
        let at = |location: &Location, message: String, hint: &str| Error::Policy {
            file: file.to_path_buf(),
            line: usize::try_from(location.line())
                .unwrap_or(usize::MAX)
                .max(1),
            column: usize::try_from(location.column())
                .unwrap_or(usize::MAX)
                .max(1),
            message,
            hint: hint.to_string(),
        };
        let raw: RawPolicy = serde_saphyr::from_str(text).map_err(|error| {
            let (line, column) = error.location().map_or((1, 1), |location| {
                (
                    usize::try_from(location.line())
                        .unwrap_or(usize::MAX)
                        .max(1),
                    usize::try_from(location.column())
                        .unwrap_or(usize::MAX)
                        .max(1),
                )
            });
            let message = error.without_snippet().to_string();
            Error::Policy {
                file: file.to_path_buf(),
                line,
                column,
                message: message
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
                hint: SHAPE_HINT.to_string(),
            }
        })?;
        if raw.version.value != VERSION {
            return Err(at(
                &raw.version.referenced,
                format!("unsupported version {}", raw.version.value),
                "write `version: 1`",
            ));
        }
        let mut builders: Vec<TrustedBuilder> = Vec::new();
        let mut first_seen: Vec<Location> = Vec::new();
        for builder in raw.builders {
            let id = builder.id.value.trim().to_string();
            if id.is_empty() {
                return Err(at(
                    &builder.id.referenced,
                    "empty builder id".into(),
                    "write the builder id as provenance records it, e.g. https://slipway.dev/builders/local/v1",
                ));
            }
            if let Some(index) = builders.iter().position(|known| known.id == id) {
                let first = first_seen.get(index).map_or(0, Location::line);
                return Err(at(
                    &builder.id.referenced,
                    format!("builder `{id}` is listed twice (first on line {first})"),
                    "list each builder once, with all its keys",
                ));
            }
            if builder.keys.value.is_empty() {
                return Err(at(
                    &builder.keys.referenced,
                    format!("builder `{id}` has no keys"),
                    "add a `- path: <file.pub>` or `- pem: |` entry, or remove the builder",
                ));
            }
            let mut keys: Vec<PublicKey> = Vec::new();
            for entry in &builder.keys.value {
                let key = read_key(&entry.value, &entry.referenced, file, base, &at)?;
                if !keys.contains(&key) {
                    keys.push(key);
                }
            }
            first_seen.push(builder.id.referenced);
            builders.push(TrustedBuilder { id, keys });
        }
        Ok(TrustPolicy { builders })
    }

    /// A policy trusting `keys` for one builder.
    pub fn from_keys(builder_id: impl Into<String>, keys: Vec<PublicKey>) -> TrustPolicy {
        TrustPolicy::from_builders([(builder_id.into(), keys)])
    }

    /// A policy from builder ids and their keys, in order. A repeated builder id adds its keys
    /// to the first entry; duplicate keys are dropped.
    pub fn from_builders(
        builders: impl IntoIterator<Item = (String, Vec<PublicKey>)>,
    ) -> TrustPolicy {
        let mut policy = TrustPolicy {
            builders: Vec::new(),
        };
        for (id, keys) in builders {
            let index = match policy.builders.iter().position(|known| known.id == id) {
                Some(index) => index,
                None => {
                    policy.builders.push(TrustedBuilder {
                        id,
                        keys: Vec::new(),
                    });
                    policy.builders.len() - 1
                }
            };
            if let Some(builder) = policy.builders.get_mut(index) {
                for key in keys {
                    if !builder.keys.contains(&key) {
                        builder.keys.push(key);
                    }
                }
            }
        }
        policy
    }

    /// The keys trusted for `builder_id`; empty when the builder is unknown.
    pub fn keys_for(&self, builder_id: &str) -> &[PublicKey] {
        self.builders
            .iter()
            .find(|builder| builder.id == builder_id)
            .map_or(&[], |builder| builder.keys.as_slice())
    }

    /// True when the policy names `builder_id` with at least one key.
    pub fn is_trusted(&self, builder_id: &str) -> bool {
        !self.keys_for(builder_id).is_empty()
    }

    /// Every builder of the policy, in file order.
    pub fn builders(&self) -> &[TrustedBuilder] {
        &self.builders
    }
}

fn read_key(
    entry: &RawKey,
    location: &Location,
    file: &Path,
    base: &Path,
    at: &impl Fn(&Location, String, &str) -> Error,
) -> Result<PublicKey, Error> {
    match (&entry.path, &entry.pem) {
        (Some(path), None) => {
            let resolved: PathBuf = base.join(&path.value);
            let text = std::fs::read_to_string(&resolved).map_err(|error| {
                at(
                    &path.referenced,
                    format!("cannot read key file {}: {error}", resolved.display()),
                    &format!(
                        "key paths are relative to {}'s directory; check the path or inline the key with `pem: |`",
                        file.display()
                    ),
                )
            })?;
            PublicKey::from_pem_named(&text, &resolved.display().to_string()).map_err(|error| {
                at(
                    &path.referenced,
                    format!("{error}"),
                    "point `path` at a PKIX public key (-----BEGIN PUBLIC KEY-----)",
                )
            })
        }
        (None, Some(pem)) => PublicKey::from_pem_named(&pem.value, "inline pem").map_err(|error| {
            at(
                &pem.referenced,
                format!("{error}"),
                "paste the whole .pub file, BEGIN and END lines included, under `pem: |`",
            )
        }),
        (Some(_), Some(_)) => Err(at(
            location,
            "a key has both `path` and `pem`".into(),
            "give each key either `path:` or `pem:`, as separate entries",
        )),
        (None, None) => Err(at(
            location,
            "a key has neither `path` nor `pem`".into(),
            "write `- path: keys/ci.pub` or `- pem: |` followed by the PEM",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, SigningKey};

    fn indent(text: &str, spaces: usize) -> String {
        let pad = " ".repeat(spaces);
        text.lines().map(|line| format!("{pad}{line}\n")).collect()
    }

    #[test]
    fn reads_path_and_inline_keys() {
        let directory = tempfile::tempdir().unwrap();
        std::fs::create_dir(directory.path().join("keys")).unwrap();
        let by_path = SigningKey::generate(Algorithm::EcdsaP256Sha256)
            .unwrap()
            .public_key();
        let inline = SigningKey::generate(Algorithm::Ed25519)
            .unwrap()
            .public_key();
        std::fs::write(directory.path().join("keys/ci.pub"), by_path.to_pem()).unwrap();
        let text = format!(
            "version: 1\nbuilders:\n  - id: https://slipway.dev/builders/local/v1\n    keys:\n      - path: keys/ci.pub\n      - pem: |\n{}",
            indent(&inline.to_pem(), 10)
        );
        let file = directory.path().join("trust.yml");
        std::fs::write(&file, text).unwrap();
        let policy = TrustPolicy::load(&file).unwrap();
        assert_eq!(
            policy.keys_for("https://slipway.dev/builders/local/v1"),
            [by_path, inline]
        );
        assert!(policy.is_trusted("https://slipway.dev/builders/local/v1"));
        assert!(!policy.is_trusted("https://elsewhere/v1"));
        assert!(policy.keys_for("https://elsewhere/v1").is_empty());
    }

    fn error_of(text: &str) -> String {
        TrustPolicy::parse(text, Path::new("trust.yml"), Path::new("/nonexistent"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn unknown_keys_are_located() {
        let message = error_of("version: 1\nbuilders:\n  - id: b\n    kyes: []\n");
        assert!(message.starts_with("trust.yml:4:5: "), "{message}");
        assert!(message.contains("kyes"), "{message}");
        assert!(message.contains("hint:"), "{message}");
    }

    #[test]
    fn missing_key_file_is_located_at_its_path() {
        let message =
            error_of("version: 1\nbuilders:\n  - id: b\n    keys:\n      - path: nope.pub\n");
        assert!(
            message.starts_with("trust.yml:5:15: cannot read key file"),
            "{message}"
        );
        assert!(
            message.contains("relative to trust.yml's directory"),
            "{message}"
        );
    }

    #[test]
    fn bad_pem_is_located_at_the_pem() {
        let message =
            error_of("version: 1\nbuilders:\n  - id: b\n    keys:\n      - pem: not a key\n");
        assert!(message.starts_with("trust.yml:5:14: "), "{message}");
        assert!(message.contains("not a PEM public key"), "{message}");
    }

    #[test]
    fn other_mistakes_are_located() {
        let cases = [
            (
                "version: 2\nbuilders: []\n",
                "trust.yml:1:10: unsupported version 2",
            ),
            (
                "version: 1\nbuilders:\n  - id: b\n    keys: []\n",
                "trust.yml:4:11: builder `b` has no keys",
            ),
            (
                "version: 1\nbuilders:\n  - id: b\n    keys:\n      - {}\n",
                "trust.yml:5:9: a key has neither",
            ),
            (
                "version: 1\nbuilders:\n  - id: ''\n    keys: []\n",
                "trust.yml:3:9: empty builder id",
            ),
            ("builders: []\n", "trust.yml:1:1: "),
            ("version: [\n", "trust.yml:"),
        ];
        for (text, expected) in cases {
            let message = error_of(text);
            assert!(message.starts_with(expected), "{message} / {expected}");
        }
    }

    #[test]
    fn duplicate_builders_are_refused() {
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256)
            .unwrap()
            .public_key();
        let entry = format!(
            "  - id: b\n    keys:\n      - pem: |\n{}",
            indent(&key.to_pem(), 10)
        );
        let message = error_of(&format!("version: 1\nbuilders:\n{entry}{entry}"));
        assert!(
            message.contains("builder `b` is listed twice (first on line 3)"),
            "{message}"
        );
    }

    #[test]
    fn from_keys_deduplicates() {
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256)
            .unwrap()
            .public_key();
        let policy = TrustPolicy::from_keys("b", vec![key.clone(), key.clone()]);
        assert_eq!(policy.keys_for("b"), [key]);
        assert_eq!(policy.builders().len(), 1);
    }
}
