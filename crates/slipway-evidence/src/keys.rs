//! The builder's signing key. A configured key (CI, servers) comes from `SLIPWAY_SIGNING_KEY`
//! with its passphrase in `SLIPWAY_KEY_PASSPHRASE` and its builder id in `SLIPWAY_BUILDER_ID`.
//! Without one, the first run creates a development key in the state directory: zero setup,
//! stated as such in the output and in the provenance, and trusted by no policy but the local one.
//!
//! Architecture invariant: the key is read by the `slipway` process after the jobs' steps have
//! run, never put in a step's environment, and its file is masked inside sandboxes.

use crate::error::{Error, Result};
use slipway_sign::keyfile::{self, Passphrase};
use slipway_sign::{Algorithm, PublicKey, SigningKey, TrustPolicy};
use std::path::{Path, PathBuf};

/// Names the key file of a configured builder key.
pub const SIGNING_KEY_ENV: &str = "SLIPWAY_SIGNING_KEY";
/// Names the builder a configured key signs for.
pub const BUILDER_ID_ENV: &str = "SLIPWAY_BUILDER_ID";
/// The builder id of a configured key when `SLIPWAY_BUILDER_ID` is not set.
pub const RUNNER_BUILDER_ID: &str = "https://slipway.invalid/builders/runner/v1";
/// The builder id of the development key: no production policy should trust it.
pub const DEVELOPMENT_BUILDER_ID: &str = "https://slipway.invalid/builders/local-development/v1";
/// Where the development key lives, relative to the state directory.
pub const DEVELOPMENT_KEY: &str = "keys/development";

/// A key and the builder it signs for.
pub struct BuilderKey {
    pub key: SigningKey,
    pub builder_id: String,
    /// A development key made on this machine, not a configured one.
    pub development: bool,
    /// The key file, masked from sandboxed steps.
    pub path: PathBuf,
}

impl BuilderKey {
    /// The configured key if `SLIPWAY_SIGNING_KEY` is set, else the state directory's
    /// development key, created on first use.
    pub fn load(state_dir: &Path) -> Result<BuilderKey> {
        match std::env::var_os(SIGNING_KEY_ENV) {
            Some(path) if !path.is_empty() => Self::configured(Path::new(&path)),
            _ => Self::development(state_dir),
        }
    }

    fn configured(path: &Path) -> Result<BuilderKey> {
        let problem = |problem: String| Error::SigningKey {
            path: path.to_owned(),
            variable: SIGNING_KEY_ENV,
            problem,
        };
        if !path.is_file() {
            return Err(problem(
                "there is no such file; create one with `slipway keys generate`".into(),
            ));
        }
        let passphrase = Passphrase::from_env_or_prompt(keyfile::PassphrasePurpose::Unlock)
            .map_err(|e| problem(e.to_string()))?;
        let key = keyfile::read_signing_key(path, &passphrase)?;
        let builder_id = std::env::var(BUILDER_ID_ENV)
            .ok()
            .filter(|id| !id.trim().is_empty())
            .unwrap_or_else(|| RUNNER_BUILDER_ID.to_owned());
        Ok(BuilderKey {
            key,
            builder_id,
            development: false,
            path: path.to_owned(),
        })
    }

    fn development(state_dir: &Path) -> Result<BuilderKey> {
        let prefix = state_dir.join(DEVELOPMENT_KEY);
        let files = keyfile::KeyPairFiles::for_prefix(&prefix);
        // The development key is stored under an empty passphrase: it protects nothing a user
        // of this machine could not read anyway, and it is labelled as such wherever it signs.
        let passphrase = Passphrase::new(String::new());
        let key = if files.private_key.is_file() {
            keyfile::read_signing_key(&files.private_key, &passphrase)?
        } else {
            let dir = prefix.parent().unwrap_or(state_dir);
            std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
            let key = SigningKey::generate(Algorithm::EcdsaP256Sha256)?;
            keyfile::write_key_pair(&key, &passphrase, &prefix, false)?;
            key
        };
        Ok(BuilderKey {
            key,
            builder_id: DEVELOPMENT_BUILDER_ID.to_owned(),
            development: true,
            path: files.private_key,
        })
    }

    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }
}

/// The trust policy `verify` uses when none is given: the state directory's development key
/// for the development builder, and the configured key's public half (`<key>.pub` beside
/// `SLIPWAY_SIGNING_KEY`'s file, when present) for the configured builder.
pub fn local_trust(state_dir: &Path) -> Result<TrustPolicy> {
    let mut policy_builders: Vec<(String, Vec<PublicKey>)> = Vec::new();
    let development = keyfile::KeyPairFiles::for_prefix(&state_dir.join(DEVELOPMENT_KEY));
    if development.public_key.is_file() {
        policy_builders.push((
            DEVELOPMENT_BUILDER_ID.to_owned(),
            vec![keyfile::read_public_key(&development.public_key)?],
        ));
    }
    if let Some(path) = std::env::var_os(SIGNING_KEY_ENV).filter(|p| !p.is_empty()) {
        let public = Path::new(&path).with_extension("pub");
        if public.is_file() {
            let builder_id = std::env::var(BUILDER_ID_ENV)
                .ok()
                .filter(|id| !id.trim().is_empty())
                .unwrap_or_else(|| RUNNER_BUILDER_ID.to_owned());
            policy_builders.push((builder_id, vec![keyfile::read_public_key(&public)?]));
        }
    }
    Ok(TrustPolicy::from_builders(policy_builders))
}
