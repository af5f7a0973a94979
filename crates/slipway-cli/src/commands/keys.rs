//! `keys generate`, `sign-blob` and `verify-blob`: key pairs and cosign-compatible signatures
//! of single files.

use super::init::write_atomically;
use crate::Outcome;
use crate::cli::{KeysGenerateArgs, SignBlobArgs, VerifyBlobArgs};
use anyhow::Context;
use slipway_sign::bundle::Content;
use slipway_sign::keyfile::{self, PassphrasePurpose};
use slipway_sign::{Bundle, Error, Passphrase, PublicKey, SigningKey, blob};
use std::path::Path;

pub fn generate(args: &KeysGenerateArgs) -> anyhow::Result<Outcome> {
    let files = keyfile::KeyPairFiles::for_prefix(&args.output);
    if !args.force {
        for path in [&files.private_key, &files.public_key] {
            if path.exists() {
                return Err(Error::AlreadyExists { path: path.clone() }.into());
            }
        }
    }
    let passphrase = Passphrase::from_env_or_prompt(PassphrasePurpose::Protect)?;
    let algorithm = args.algorithm.into();
    let key = SigningKey::generate(algorithm)?;
    let written = keyfile::write_key_pair(&key, &passphrase, &args.output, args.force)?;
    let key_id = key.public_key().key_id();
    super::audit::record_key_generation(&args.state, &key, &written.private_key)?;
    if args.json {
        let report = serde_json::json!({
            "private_key": written.private_key,
            "public_key": written.public_key,
            "key_id": key_id,
            "algorithm": algorithm.name(),
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "wrote {} (private key, encrypted) and {} ({algorithm}, key id {key_id})",
            written.private_key.display(),
            written.public_key.display()
        );
    }
    Ok(Outcome::Success)
}

pub fn sign_blob(args: &SignBlobArgs) -> anyhow::Result<Outcome> {
    let blob_bytes = read(&args.file)?;
    let passphrase = Passphrase::from_env_or_prompt(PassphrasePurpose::Unlock)?;
    let key = keyfile::read_signing_key(&args.key, &passphrase)?;
    let signature = blob::sign_blob(&key, &blob_bytes);
    let encoded = blob::encode_signature(&signature);
    if let Some(path) = &args.output_signature {
        write_atomically(path, &encoded)?;
        eprintln!("wrote the signature to {}", path.display());
    }
    if let Some(path) = &args.bundle {
        let bundle = Bundle::from_blob_signature(&key.public_key(), &blob_bytes, signature);
        write_atomically(path, &format!("{}\n", bundle.to_json()))?;
        eprintln!("wrote the bundle to {}", path.display());
    }
    if args.output_signature.is_none() && args.bundle.is_none() {
        println!("{encoded}");
    }
    Ok(Outcome::Success)
}

pub fn verify_blob(args: &VerifyBlobArgs) -> anyhow::Result<Outcome> {
    let key = keyfile::read_public_key(&args.key)?;
    let blob_bytes = read(&args.file)?;
    let (kind, result) = match (&args.signature, &args.bundle) {
        (Some(signature), _) => (
            "signature",
            verify_signature_file(&key, signature, &blob_bytes)?,
        ),
        (None, Some(bundle)) => verify_bundle_file(&key, bundle, &blob_bytes)?,
        (None, None) => anyhow::bail!("give --signature FILE or --bundle FILE"),
    };
    let sha256 = blob::sha256_hex(&blob_bytes);
    let reason = result.as_ref().err().map(ToString::to_string);
    if args.json {
        let report = serde_json::json!({
            "verified": reason.is_none(),
            "file": args.file,
            "sha256": sha256,
            "key_id": key.key_id(),
            "kind": kind,
            "reason": reason,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if let Some(reason) = &reason {
        eprintln!("not verified: {}: {reason}", args.file.display());
    } else {
        println!(
            "verified: {} (sha256 {sha256}) signed by key {} ({kind})",
            args.file.display(),
            key.key_id()
        );
    }
    Ok(if reason.is_none() {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// The outcome of checking evidence that could be read: `Err` holds why it did not verify.
type Checked = Result<(), Error>;

/// Splits library errors: a failed check is a result (exit 1), anything else stops (exit 2).
fn checked(result: Result<(), Error>) -> anyhow::Result<Checked> {
    match result {
        Err(error) if !error.is_verification_failure() => Err(error.into()),
        other => Ok(other),
    }
}

fn verify_signature_file(
    key: &PublicKey,
    path: &Path,
    blob_bytes: &[u8],
) -> anyhow::Result<Checked> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the signature file {}", path.display()))?;
    checked(
        blob::decode_signature(&text)
            .and_then(|signature| blob::verify_blob(key, &signature, blob_bytes)),
    )
}

fn verify_bundle_file(
    key: &PublicKey,
    path: &Path,
    blob_bytes: &[u8],
) -> anyhow::Result<(&'static str, Checked)> {
    let json = read(path)?;
    let bundle = match Bundle::from_json(&json) {
        Ok(bundle) => bundle,
        Err(error) => return Ok(("bundle", checked(Err(error))?)),
    };
    let kind = match bundle.content {
        Content::MessageSignature { .. } => "messageSignature",
        Content::DsseEnvelope(_) => "dsseEnvelope",
    };
    Ok((kind, checked(bundle.verify(key, blob_bytes).map(drop))?))
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}
