//! Private keys at rest, encrypted exactly as cosign writes them, and the passphrase that opens
//! them.
//!
//! The file is a PEM block labelled `ENCRYPTED SIGSTORE PRIVATE KEY` (cosign ≥ 2; the older
//! `ENCRYPTED COSIGN PRIVATE KEY` is read too) whose body is the JSON of go-securesystemslib's
//! `encrypted` package:
//!
//! ```json
//! {"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":"<32 bytes>"},
//!  "cipher":{"name":"nacl/secretbox","nonce":"<24 bytes>"},
//!  "ciphertext":"<secretbox(PKCS#8 DER)>"}
//! ```
//!
//! Byte strings are standard base64 (Go's `[]byte` JSON encoding). The key is scrypt(passphrase,
//! salt, N, r, p, 32 bytes); the ciphertext is NaCl secretbox (XSalsa20-Poly1305, tag first).
//! New files use N = 2^15, the one setting every cosign release accepts; reading also accepts
//! 2^16 and 2^17, the other two that current go-securesystemslib allows. Any other parameter set
//! is refused before deriving, so a tampered file cannot make the KDF run for hours.
//!
//! There is deliberately no way to store a private key unencrypted.

use crate::key::SigningKey;
use crate::{Error, PublicKey, b64};
use crypto_secretbox::XSalsa20Poly1305;
use crypto_secretbox::aead::{Aead as _, KeyInit as _};
use pkcs8::der::pem::{self, LineEnding};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The environment variable that holds the private key's passphrase.
pub const PASSPHRASE_ENV: &str = "SLIPWAY_KEY_PASSPHRASE";

/// The PEM label cosign ≥ 2 writes, and this crate writes.
pub const SIGSTORE_KEY_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The PEM label of cosign 1.x key files, still accepted on read.
pub const COSIGN_KEY_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";

const KDF_NAME: &str = "scrypt";
const CIPHER_NAME: &str = "nacl/secretbox";
const SALT_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const BOX_KEY_LEN: usize = 32;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;
/// log2(N) written into new files: N = 32768.
const SCRYPT_LOG_N_WRITTEN: u8 = 15;
/// log2(N) accepted on read: go-securesystemslib's legacy, standard and OWASP levels.
const SCRYPT_LOG_N_ACCEPTED: [u8; 3] = [15, 16, 17];

/// A passphrase, zeroed when dropped; `Debug` never shows it.
pub struct Passphrase(Zeroizing<String>);

/// What a passphrase is asked for; decides whether it is confirmed and whether empty is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassphrasePurpose {
    /// Encrypting a new key: asked twice on a terminal; must not be empty.
    Protect,
    /// Opening an existing key: asked once; empty is accepted, as cosign allows it.
    Unlock,
}

impl Passphrase {
    /// Wraps a passphrase obtained elsewhere.
    pub fn new(passphrase: String) -> Passphrase {
        Passphrase(Zeroizing::new(passphrase))
    }

    /// The passphrase from [`PASSPHRASE_ENV`], or else typed at a terminal prompt. Without the
    /// variable and without a terminal, an error names the variable to set.
    pub fn from_env_or_prompt(purpose: PassphrasePurpose) -> Result<Passphrase, Error> {
        let passphrase =
            match std::env::var_os(PASSPHRASE_ENV) {
                Some(value) => Passphrase::new(value.into_string().map_err(|_| {
                    Error::Passphrase(format!("{PASSPHRASE_ENV} is not valid UTF-8"))
                })?),
                None if std::io::stdin().is_terminal() => prompt(purpose)?,
                None => {
                    return Err(Error::PassphraseUnavailable {
                        variable: PASSPHRASE_ENV,
                    });
                }
            };
        if purpose == PassphrasePurpose::Protect && passphrase.0.is_empty() {
            return Err(Error::Passphrase(format!(
                "an empty passphrase would leave the private key unprotected; set {PASSPHRASE_ENV} to a non-empty passphrase"
            )));
        }
        Ok(passphrase)
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

fn prompt(purpose: PassphrasePurpose) -> Result<Passphrase, Error> {
    let read = |text: &str| {
        rpassword::prompt_password(text)
            .map(Passphrase::new)
            .map_err(|error| Error::Passphrase(format!("cannot read the passphrase: {error}")))
    };
    match purpose {
        PassphrasePurpose::Unlock => read("Passphrase for the private key: "),
        PassphrasePurpose::Protect => {
            let first = read("Passphrase for the new private key: ")?;
            let again = read("The same passphrase again: ")?;
            if first.0 != again.0 {
                return Err(Error::Passphrase("the two passphrases differ".into()));
            }
            Ok(first)
        }
    }
}

#[derive(Serialize, Deserialize)]
struct EncryptedKey {
    kdf: Kdf,
    cipher: Cipher,
    #[serde(with = "b64::serde_bytes")]
    ciphertext: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: ScryptParams,
    #[serde(with = "b64::serde_bytes")]
    salt: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct ScryptParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    #[serde(with = "b64::serde_bytes")]
    nonce: Vec<u8>,
}

/// Encrypts `key` under `passphrase` into the text of an `ENCRYPTED SIGSTORE PRIVATE KEY` PEM.
pub fn encrypt_private_key(key: &SigningKey, passphrase: &Passphrase) -> Result<String, Error> {
    let mut salt = [0u8; SALT_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut salt).map_err(|error| Error::Random(error.to_string()))?;
    getrandom::fill(&mut nonce).map_err(|error| Error::Random(error.to_string()))?;
    let box_key = derive_box_key(passphrase, &salt, SCRYPT_LOG_N_WRITTEN)?;
    let plaintext = key.to_pkcs8_der()?;
    let ciphertext = XSalsa20Poly1305::new(box_key.as_slice().into())
        .encrypt(nonce.as_slice().into(), plaintext.as_slice())
        .map_err(|_| Error::Passphrase("encryption failed".into()))?;
    let body = EncryptedKey {
        kdf: Kdf {
            name: KDF_NAME.into(),
            params: ScryptParams {
                n: 1 << SCRYPT_LOG_N_WRITTEN,
                r: SCRYPT_R,
                p: SCRYPT_P,
            },
            salt: salt.to_vec(),
        },
        cipher: Cipher {
            name: CIPHER_NAME.into(),
            nonce: nonce.to_vec(),
        },
        ciphertext,
    };
    let json = serde_json::to_vec(&body)
        .map_err(|error| Error::malformed("encrypted key", error.to_string()))?;
    pem::encode_string(SIGSTORE_KEY_LABEL, LineEnding::LF, &json)
        .map_err(|error| Error::malformed("encrypted key", error.to_string()))
}

/// Opens an encrypted private key PEM (`ENCRYPTED SIGSTORE PRIVATE KEY` or the older
/// `ENCRYPTED COSIGN PRIVATE KEY`). `source_name` (the file) is named in errors.
pub fn decrypt_private_key(
    pem_text: &str,
    passphrase: &Passphrase,
    source_name: &str,
) -> Result<SigningKey, Error> {
    let (label, body) = pem::decode_vec(pem_text.trim().as_bytes()).map_err(|error| {
        Error::invalid_key(
            source_name,
            format!("not a PEM private key: {error}"),
            "pass the .key file written by `slipway keys generate` or `cosign generate-key-pair`",
        )
    })?;
    if label != SIGSTORE_KEY_LABEL && label != COSIGN_KEY_LABEL {
        let hint = if label.contains("PRIVATE KEY") {
            "unencrypted private keys are not accepted; encrypt it with `cosign import-key-pair --key FILE` and pass the resulting .key"
        } else if label == "PUBLIC KEY" {
            "this is a public key; signing needs the private .key file"
        } else {
            "pass the .key file written by `slipway keys generate` or `cosign generate-key-pair`"
        };
        return Err(Error::invalid_key(
            source_name,
            format!("PEM block is `{label}`, not `{SIGSTORE_KEY_LABEL}`"),
            hint,
        ));
    }
    let damaged = |message: String| {
        Error::invalid_key(
            source_name,
            message,
            "the key file is damaged; restore it or generate a new key",
        )
    };
    let encrypted: EncryptedKey = serde_json::from_slice(&body)
        .map_err(|error| damaged(format!("the encrypted key's JSON does not parse: {error}")))?;
    if encrypted.kdf.name != KDF_NAME {
        return Err(damaged(format!(
            "unknown key derivation `{}`, expected `{KDF_NAME}`",
            encrypted.kdf.name
        )));
    }
    if encrypted.cipher.name != CIPHER_NAME {
        return Err(damaged(format!(
            "unknown cipher `{}`, expected `{CIPHER_NAME}`",
            encrypted.cipher.name
        )));
    }
    let params = &encrypted.kdf.params;
    let log_n = SCRYPT_LOG_N_ACCEPTED
        .into_iter()
        .find(|log_n| params.n == 1 << log_n)
        .filter(|_| params.r == SCRYPT_R && params.p == SCRYPT_P)
        .ok_or_else(|| {
            damaged(format!(
                "unsupported scrypt parameters N={} r={} p={} (accepted: N=32768, 65536 or 131072 with r=8, p=1)",
                params.n, params.r, params.p
            ))
        })?;
    if encrypted.cipher.nonce.len() != NONCE_LEN {
        return Err(damaged(format!(
            "the nonce has {} bytes, expected {NONCE_LEN}",
            encrypted.cipher.nonce.len()
        )));
    }
    let box_key = derive_box_key(passphrase, &encrypted.kdf.salt, log_n)?;
    let plaintext = XSalsa20Poly1305::new(box_key.as_slice().into())
        .decrypt(
            encrypted.cipher.nonce.as_slice().into(),
            encrypted.ciphertext.as_slice(),
        )
        .map(Zeroizing::new)
        .map_err(|_| Error::WrongPassphrase {
            source_name: source_name.to_string(),
        })?;
    SigningKey::from_pkcs8_der(&plaintext, source_name)
}

fn derive_box_key(
    passphrase: &Passphrase,
    salt: &[u8],
    log_n: u8,
) -> Result<Zeroizing<[u8; BOX_KEY_LEN]>, Error> {
    let params = scrypt::Params::new(log_n, SCRYPT_R, SCRYPT_P)
        .map_err(|error| Error::Passphrase(format!("scrypt parameters: {error}")))?;
    let mut box_key = Zeroizing::new([0u8; BOX_KEY_LEN]);
    scrypt::scrypt(passphrase.as_bytes(), salt, &params, box_key.as_mut_slice())
        .map_err(|error| Error::Passphrase(format!("scrypt: {error}")))?;
    Ok(box_key)
}

/// Where a key pair lives: `PREFIX.key` (encrypted private key) and `PREFIX.pub`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPairFiles {
    /// The encrypted private key, mode 0600.
    pub private_key: PathBuf,
    /// The PKIX PEM public key.
    pub public_key: PathBuf,
}

impl KeyPairFiles {
    /// `PREFIX.key` and `PREFIX.pub`.
    pub fn for_prefix(prefix: &Path) -> KeyPairFiles {
        let with_suffix = |suffix: &str| {
            let mut name = prefix.as_os_str().to_os_string();
            name.push(suffix);
            PathBuf::from(name)
        };
        KeyPairFiles {
            private_key: with_suffix(".key"),
            public_key: with_suffix(".pub"),
        }
    }
}

/// Writes `key` encrypted to `PREFIX.key` (mode 0600) and its public key to `PREFIX.pub`, each
/// through a temporary file renamed into place. Existing files are kept unless `overwrite`.
pub fn write_key_pair(
    key: &SigningKey,
    passphrase: &Passphrase,
    prefix: &Path,
    overwrite: bool,
) -> Result<KeyPairFiles, Error> {
    let files = KeyPairFiles::for_prefix(prefix);
    if !overwrite {
        for path in [&files.private_key, &files.public_key] {
            if path.exists() {
                return Err(Error::AlreadyExists { path: path.clone() });
            }
        }
    }
    let private_pem = encrypt_private_key(key, passphrase)?;
    write_atomically(&files.private_key, private_pem.as_bytes(), 0o600, overwrite)?;
    write_atomically(
        &files.public_key,
        key.public_key().to_pem().as_bytes(),
        0o644,
        overwrite,
    )?;
    Ok(files)
}

/// Reads and opens an encrypted private key file.
pub fn read_signing_key(path: &Path, passphrase: &Passphrase) -> Result<SigningKey, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    decrypt_private_key(&text, passphrase, &path.display().to_string())
}

/// Reads a PKIX PEM public key file.
pub fn read_public_key(path: &Path) -> Result<PublicKey, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    PublicKey::from_pem_named(&text, &path.display().to_string())
}

/// Writes `bytes` to `path` through a temporary file in the same directory, so a reader never
/// sees half a file; `mode` (Unix permission bits) is set before any byte is written.
#[cfg_attr(not(unix), allow(unused_variables))]
pub(crate) fn write_atomically(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    overwrite: bool,
) -> Result<(), Error> {
    let write_error = |source: std::io::Error| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".slipway-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    let mut file = builder.tempfile_in(directory).map_err(write_error)?;
    file.write_all(bytes).map_err(write_error)?;
    file.as_file().sync_all().map_err(write_error)?;
    let persisted = if overwrite {
        file.persist(path)
    } else {
        file.persist_noclobber(path)
    };
    persisted.map(drop).map_err(|error| {
        if error.error.kind() == std::io::ErrorKind::AlreadyExists {
            Error::AlreadyExists {
                path: path.to_path_buf(),
            }
        } else {
            write_error(error.error)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Algorithm;

    fn passphrase(text: &str) -> Passphrase {
        Passphrase::new(text.to_string())
    }

    #[test]
    fn encrypted_key_round_trips_for_both_algorithms() {
        for algorithm in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let key = SigningKey::generate(algorithm).unwrap();
            let pem = encrypt_private_key(&key, &passphrase("correct horse")).unwrap();
            assert!(pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
            let opened = decrypt_private_key(&pem, &passphrase("correct horse"), "k").unwrap();
            assert_eq!(opened.public_key(), key.public_key());
        }
    }

    #[test]
    fn body_is_the_go_securesystemslib_json() {
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let pem = encrypt_private_key(&key, &passphrase("pw")).unwrap();
        let (_, body) = pem::decode_vec(pem.as_bytes()).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["kdf"]["name"], "scrypt");
        assert_eq!(json["kdf"]["params"]["N"], 32768);
        assert_eq!(json["kdf"]["params"]["r"], 8);
        assert_eq!(json["kdf"]["params"]["p"], 1);
        assert_eq!(json["cipher"]["name"], "nacl/secretbox");
        let salt = b64::decode(json["kdf"]["salt"].as_str().unwrap()).unwrap();
        let nonce = b64::decode(json["cipher"]["nonce"].as_str().unwrap()).unwrap();
        assert_eq!((salt.len(), nonce.len()), (32, 24));
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["kdf", "cipher", "ciphertext"], "Go's field order");
    }

    #[test]
    fn wrong_passphrase_is_reported_as_such() {
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let pem = encrypt_private_key(&key, &passphrase("right")).unwrap();
        let error = decrypt_private_key(&pem, &passphrase("wrong"), "ci.key").unwrap_err();
        assert!(matches!(error, Error::WrongPassphrase { .. }), "{error}");
        let message = error.to_string();
        assert!(
            message.contains("ci.key: wrong passphrase or corrupt key file"),
            "{message}"
        );
        assert!(!message.contains("right") && !message.contains("wrong\""));
    }

    #[test]
    fn tampered_kdf_parameters_are_refused_before_deriving() {
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let pem = encrypt_private_key(&key, &passphrase("pw")).unwrap();
        let (_, body) = pem::decode_vec(pem.as_bytes()).unwrap();
        let tampered = String::from_utf8(body)
            .unwrap()
            .replace("\"N\":32768", "\"N\":1073741824");
        let pem =
            pem::encode_string(SIGSTORE_KEY_LABEL, LineEnding::LF, tampered.as_bytes()).unwrap();
        let error = decrypt_private_key(&pem, &passphrase("pw"), "k").unwrap_err();
        assert!(
            error.to_string().contains("unsupported scrypt parameters"),
            "{error}"
        );
    }

    #[test]
    fn unencrypted_private_keys_are_refused() {
        let error = decrypt_private_key(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            &passphrase("pw"),
            "plain.key",
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("unencrypted private keys are not accepted"),
            "{error}"
        );
    }

    #[test]
    fn key_pair_files_are_written_once_with_a_private_mode() {
        let directory = tempfile::tempdir().unwrap();
        let prefix = directory.path().join("ci");
        let key = SigningKey::generate(Algorithm::EcdsaP256Sha256).unwrap();
        let files = write_key_pair(&key, &passphrase("pw"), &prefix, false).unwrap();
        assert_eq!(files.private_key, directory.path().join("ci.key"));
        assert_eq!(files.public_key, directory.path().join("ci.pub"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&files.private_key)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            read_public_key(&files.public_key).unwrap(),
            key.public_key()
        );
        let opened = read_signing_key(&files.private_key, &passphrase("pw")).unwrap();
        assert_eq!(opened.public_key(), key.public_key());

        let again = write_key_pair(&key, &passphrase("pw"), &prefix, false).unwrap_err();
        assert!(matches!(again, Error::AlreadyExists { .. }), "{again}");
        write_key_pair(&key, &passphrase("pw"), &prefix, true).unwrap();
        let leftovers = std::fs::read_dir(directory.path()).unwrap().count();
        assert_eq!(leftovers, 2, "no temporary files left behind");
    }

    #[test]
    fn debug_hides_the_passphrase() {
        assert_eq!(
            format!("{:?}", passphrase("hunter2")),
            "Passphrase(<redacted>)"
        );
    }
}
