//! A deterministic, labelled corpus of secrets and near-misses for measuring secret scanners.
//!
//! Secrets are synthesised from each provider's published token format (prefix, length,
//! alphabet, and the checksum where the format has one) with a fixed seed, never taken from a
//! scanner's rules, and placed in realistic files of many kinds. Near-misses sit in the same
//! kinds of files: documented example keys, placeholders, templates and environment look-ups,
//! hashes, UUIDs, data URIs, lockfile integrity hashes, public keys and certificates,
//! publishable keys and look-alikes of the wrong length or alphabet. Every labelled line holds
//! exactly one candidate; every other line is ordinary text, so any finding there is a false
//! positive.
//!
//! [`Corpus::write`] lays the files out under `DIR/tree/` and the labels in `DIR/labels.json`
//! (`[{"file","line","provider","label","kind"}]`, plus `"span": [first, last]` for a secret
//! that covers several lines, such as a PEM block or a service-account JSON document).

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;

/// Seed of the generator: the corpus is the same on every machine and every run.
pub const SEED: u64 = 0x5EC2_E75C_0A9F_5EED;
/// Directory under the output directory that holds the files to scan.
pub const TREE_DIR: &str = "tree";
/// File under the output directory that holds the labels.
pub const LABELS_FILE: &str = "labels.json";

/// What a labelled line holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Label {
    /// A credential in its provider's real format: a scanner should report it.
    Secret,
    /// Something that looks like a credential but is not one: a scanner should stay quiet.
    NearMiss,
}

impl Label {
    /// The label as written in `labels.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Secret => "secret",
            Label::NearMiss => "near-miss",
        }
    }
}

/// The kind of file a candidate sits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FileKind {
    /// Rust source (`.rs`).
    Rust,
    /// Python source (`.py`).
    Python,
    /// JavaScript source (`.js`).
    JavaScript,
    /// TypeScript source (`.ts`).
    TypeScript,
    /// Go source (`.go`).
    Go,
    /// Java source (`.java`).
    Java,
    /// A dotenv file (`.env`, `.env.production`).
    Env,
    /// A shell script (`.sh`).
    Shell,
    /// A Kubernetes Secret manifest.
    YamlK8s,
    /// A Docker Compose file.
    YamlCompose,
    /// A CI workflow (GitHub Actions or GitLab CI).
    YamlCi,
    /// A Google Cloud service-account key file or its template.
    JsonServiceAccount,
    /// An application's JSON settings.
    JsonConfig,
    /// A TOML configuration file.
    Toml,
    /// An INI configuration file.
    Ini,
    /// Terraform (`.tf`).
    Terraform,
    /// A Dockerfile.
    Dockerfile,
    /// Documentation in Markdown.
    Markdown,
    /// A PEM file: private key, public key or certificate.
    PemKey,
    /// An OpenSSH key file (private, or `.pub`).
    OpenSshKey,
    /// A lockfile (`package-lock.json`, `Cargo.lock`).
    Lockfile,
}

impl FileKind {
    /// Every kind the corpus covers.
    pub const ALL: [FileKind; 21] = [
        FileKind::Rust,
        FileKind::Python,
        FileKind::JavaScript,
        FileKind::TypeScript,
        FileKind::Go,
        FileKind::Java,
        FileKind::Env,
        FileKind::Shell,
        FileKind::YamlK8s,
        FileKind::YamlCompose,
        FileKind::YamlCi,
        FileKind::JsonServiceAccount,
        FileKind::JsonConfig,
        FileKind::Toml,
        FileKind::Ini,
        FileKind::Terraform,
        FileKind::Dockerfile,
        FileKind::Markdown,
        FileKind::PemKey,
        FileKind::OpenSshKey,
        FileKind::Lockfile,
    ];

    /// The kind's name in `labels.json` and in reports.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Rust => "rust",
            FileKind::Python => "python",
            FileKind::JavaScript => "javascript",
            FileKind::TypeScript => "typescript",
            FileKind::Go => "go",
            FileKind::Java => "java",
            FileKind::Env => "dotenv",
            FileKind::Shell => "shell",
            FileKind::YamlK8s => "yaml-k8s",
            FileKind::YamlCompose => "yaml-compose",
            FileKind::YamlCi => "yaml-ci",
            FileKind::JsonServiceAccount => "json-service-account",
            FileKind::JsonConfig => "json-config",
            FileKind::Toml => "toml",
            FileKind::Ini => "ini",
            FileKind::Terraform => "terraform",
            FileKind::Dockerfile => "dockerfile",
            FileKind::Markdown => "markdown",
            FileKind::PemKey => "pem",
            FileKind::OpenSshKey => "openssh",
            FileKind::Lockfile => "lockfile",
        }
    }

    /// Whether the corpus must hold true secrets in this kind (lockfiles only hold hashes).
    pub fn holds_secrets(self) -> bool {
        self != FileKind::Lockfile
    }
}

/// One labelled line of the corpus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelledLine {
    /// Path relative to the tree, with `/` separators.
    pub file: String,
    /// 1-based line of the candidate.
    pub line: u32,
    /// First and last line (1-based, inclusive) the candidate covers; `(line, line)` for a
    /// one-line candidate. A finding anywhere in a secret's span reports that secret.
    pub span: (u32, u32),
    /// The provider whose format the candidate has (secrets) or the near-miss category.
    pub provider: &'static str,
    /// Secret or near-miss.
    pub label: Label,
    /// The kind of file it sits in.
    pub kind: FileKind,
}

/// One file of the corpus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorpusFile {
    /// Path relative to the tree, with `/` separators.
    pub path: String,
    /// The kind of file.
    pub kind: FileKind,
    /// The file's text.
    pub text: String,
}

/// The generated corpus: files and their labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Corpus {
    /// Every file, in path order.
    pub files: Vec<CorpusFile>,
    /// Every labelled line, in file and line order.
    pub labels: Vec<LabelledLine>,
}

impl Corpus {
    /// Generates the corpus from [`SEED`].
    pub fn generate() -> Corpus {
        let mut rng = Rng::new(SEED);
        let mut candidates = secret_candidates(&mut rng);
        candidates.extend(near_miss_candidates(&mut rng));
        let mut out = Output::default();
        place_candidates(&mut rng, candidates, &mut out);
        for index in 0..4 {
            service_account_file(&mut rng, index, &mut out);
        }
        for index in 0..2 {
            service_account_placeholder_file(&mut rng, index, &mut out);
        }
        lockfiles(&mut rng, &mut out);
        clean_files(&mut rng, &mut out);
        out.files.sort_by(|a, b| a.path.cmp(&b.path));
        out.labels
            .sort_by(|a, b| (a.file.as_str(), a.line).cmp(&(b.file.as_str(), b.line)));
        Corpus {
            files: out.files,
            labels: out.labels,
        }
    }

    /// Writes the files under `dir/tree/` and the labels to `dir/labels.json`.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        let tree = dir.join(TREE_DIR);
        for file in &self.files {
            let path = tree.join(&file.path);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::write(&path, &file.text)?;
        }
        let labels: Vec<serde_json::Value> = self
            .labels
            .iter()
            .map(|label| {
                let mut entry = json!({
                    "file": label.file,
                    "line": label.line,
                    "provider": label.provider,
                    "label": label.label.as_str(),
                    "kind": label.kind.name(),
                });
                if label.span.0 != label.span.1 {
                    entry["span"] = json!([label.span.0, label.span.1]);
                }
                entry
            })
            .collect();
        let text = serde_json::to_string_pretty(&labels).map_err(io::Error::other)?;
        fs::write(dir.join(LABELS_FILE), text + "\n")
    }

    /// Total size of the files in bytes.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|file| file.text.len() as u64).sum()
    }

    /// Number of labelled lines with `label`.
    pub fn count(&self, label: Label) -> usize {
        self.labels.iter().filter(|l| l.label == label).count()
    }

    /// Labelled lines per `(label, provider)`.
    pub fn by_provider(&self) -> BTreeMap<(Label, &'static str), usize> {
        let mut counts = BTreeMap::new();
        for label in &self.labels {
            *counts.entry((label.label, label.provider)).or_insert(0) += 1;
        }
        counts
    }

    /// Labelled lines per `(label, file kind)`.
    pub fn by_kind(&self) -> BTreeMap<(Label, FileKind), usize> {
        let mut counts = BTreeMap::new();
        for label in &self.labels {
            *counts.entry((label.label, label.kind)).or_insert(0) += 1;
        }
        counts
    }
}

// ---------------------------------------------------------------------------------------------
// Randomness

/// xorshift64*: small, fast and fully determined by its seed, which is all a corpus needs.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound.max(1) as u64) as usize
    }

    fn range(&mut self, low: usize, high_inclusive: usize) -> usize {
        low + self.below(high_inclusive - low + 1)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn chars(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| char::from(alphabet[self.below(alphabet.len())]))
            .collect()
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| (self.next_u64() >> 56) as u8).collect()
    }

    fn digits(&mut self, len: usize) -> String {
        // A leading zero would make numeric ids look odd; the first digit is 1-9.
        let mut out = self.chars(b"123456789", 1);
        out.push_str(&self.chars(DIGITS, len - 1));
        out
    }

    fn uuid(&mut self) -> String {
        let hex = self.chars(HEX, 32);
        format!(
            "{}-{}-4{}-{}{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            self.pick(&['8', '9', 'a', 'b']),
            &hex[17..20],
            &hex[20..32]
        )
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

const DIGITS: &[u8] = b"0123456789";
const HEX: &[u8] = b"0123456789abcdef";
const HEX_UPPER: &[u8] = b"0123456789ABCDEF";
const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// RFC 4648 base32, the alphabet of AWS access key ids.
const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Characters of generated passwords: none needs quoting or escaping in any file kind.
const PASSWORD: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!%*+-.:=?@^_~";
const URL_PASSWORD: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.~";

// ---------------------------------------------------------------------------------------------
// Checksummed token formats

/// Base62 of `value`, left-padded with `0` to six characters: the checksum suffix of GitHub's
/// and npm's tokens (CRC32 of the random part, per GitHub's 2021 token-format announcement).
pub fn base62_checksum(value: u32) -> String {
    let mut digits = Vec::new();
    let mut rest = value;
    while rest > 0 {
        digits.push(BASE62[(rest % 62) as usize]);
        rest /= 62;
    }
    while digits.len() < 6 {
        digits.push(b'0');
    }
    digits.iter().rev().map(|&b| char::from(b)).collect()
}

/// CRC-32 (IEEE) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

/// A token of `prefix` + 30 random base62 characters + their six-character CRC32 checksum.
fn checksummed_token(rng: &mut Rng, prefix: &str) -> String {
    let random = rng.chars(BASE62, 30);
    format!(
        "{prefix}{random}{}",
        base62_checksum(crc32(random.as_bytes()))
    )
}

/// The same shape with a checksum that does not match: not a token any provider issued.
fn bad_checksum_token(rng: &mut Rng, prefix: &str) -> String {
    let random = rng.chars(BASE62, 30);
    let wrong = crc32(random.as_bytes()) ^ 0x0101_0101;
    format!("{prefix}{random}{}", base62_checksum(wrong))
}

// ---------------------------------------------------------------------------------------------
// Candidates

/// How a candidate's value is written.
#[derive(Clone, Debug)]
enum Value {
    /// A literal string.
    Text(String),
    /// A multi-line literal such as a PEM block.
    Block(Vec<String>),
    /// A look-up of the variable in the environment, in each language's idiom.
    EnvRef,
}

#[derive(Clone, Debug)]
struct Candidate {
    provider: &'static str,
    label: Label,
    /// Variable name in SCREAMING_SNAKE case; each kind renders it in its own style.
    name: String,
    value: Value,
    /// The kinds it may be placed in.
    kinds: &'static [FileKind],
}

/// Kinds that hold one-line `name = "value"` assignments.
const INLINE: &[FileKind] = &[
    FileKind::Rust,
    FileKind::Python,
    FileKind::JavaScript,
    FileKind::TypeScript,
    FileKind::Go,
    FileKind::Java,
    FileKind::Env,
    FileKind::Shell,
    FileKind::YamlK8s,
    FileKind::YamlCompose,
    FileKind::YamlCi,
    FileKind::JsonConfig,
    FileKind::Toml,
    FileKind::Ini,
    FileKind::Terraform,
    FileKind::Dockerfile,
    FileKind::Markdown,
];
/// Kinds that hold multi-line PEM blocks (or, for `.env`, JSON and TOML, one escaped line).
const BLOCKS: &[FileKind] = &[
    FileKind::PemKey,
    FileKind::YamlK8s,
    FileKind::Terraform,
    FileKind::Python,
    FileKind::Env,
    FileKind::Rust,
    FileKind::JsonConfig,
    FileKind::Go,
    FileKind::YamlCi,
    FileKind::Markdown,
    FileKind::Java,
    FileKind::JavaScript,
    FileKind::Shell,
    FileKind::Toml,
    FileKind::TypeScript,
    FileKind::YamlCompose,
];
const OPENSSH: &[FileKind] = &[
    FileKind::OpenSshKey,
    FileKind::YamlCi,
    FileKind::Shell,
    FileKind::Markdown,
    FileKind::Terraform,
];
const SSH_PUBLIC: &[FileKind] = &[
    FileKind::OpenSshKey,
    FileKind::Terraform,
    FileKind::YamlCi,
    FileKind::Markdown,
    FileKind::Shell,
];

type Make = fn(&mut Rng) -> Value;

struct Spec {
    provider: &'static str,
    count: usize,
    names: &'static [&'static str],
    make: Make,
    kinds: &'static [FileKind],
}

fn text(value: String) -> Value {
    Value::Text(value)
}

fn secret_specs() -> Vec<Spec> {
    vec![
        Spec {
            provider: "aws-access-key-id",
            count: 6,
            names: &["AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"],
            make: |r| {
                let prefix = r.pick(&["AKIA", "AKIA", "ASIA"]);
                text(format!("{prefix}{}", r.chars(BASE32, 16)))
            },
            kinds: INLINE,
        },
        Spec {
            provider: "aws-secret-access-key",
            count: 6,
            names: &["AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"],
            make: |r| text(r.chars(BASE64, 40)),
            kinds: INLINE,
        },
        Spec {
            provider: "gcp-api-key",
            count: 5,
            names: &["GOOGLE_API_KEY", "GEMINI_API_KEY", "YOUTUBE_API_KEY"],
            make: |r| text(format!("AIza{}", r.chars(BASE64URL, 35))),
            kinds: INLINE,
        },
        Spec {
            provider: "gcp-oauth-client-secret",
            count: 3,
            names: &["GOOGLE_CLIENT_SECRET", "GOOGLE_OAUTH_CLIENT_SECRET"],
            make: |r| text(format!("GOCSPX-{}", r.chars(BASE64URL, 28))),
            kinds: INLINE,
        },
        Spec {
            provider: "azure-storage-key",
            count: 5,
            names: &["AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_KEY"],
            make: |r| {
                let key = STANDARD.encode(r.bytes(64));
                if r.below(2) == 0 {
                    let account = format!(
                        "acme{}",
                        r.chars(b"abcdefghijklmnopqrstuvwxyz0123456789", 8)
                    );
                    text(format!(
                        "DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};EndpointSuffix=core.windows.net"
                    ))
                } else {
                    text(key)
                }
            },
            kinds: INLINE,
        },
        Spec {
            provider: "azure-ad-client-secret",
            count: 3,
            names: &["AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET"],
            make: |r| {
                let alphabet =
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~.-";
                text(format!(
                    "{}8Q~{}",
                    r.chars(alphabet, 3),
                    r.chars(alphabet, 34)
                ))
            },
            kinds: INLINE,
        },
        Spec {
            provider: "github-classic-pat",
            count: 5,
            names: &["GITHUB_TOKEN", "GH_TOKEN", "GITHUB_PAT"],
            make: |r| text(checksummed_token(r, "ghp_")),
            kinds: INLINE,
        },
        Spec {
            provider: "github-oauth-token",
            count: 3,
            names: &["GITHUB_OAUTH_TOKEN", "GH_OAUTH_TOKEN"],
            make: |r| text(checksummed_token(r, "gho_")),
            kinds: INLINE,
        },
        Spec {
            provider: "github-app-token",
            count: 5,
            names: &[
                "GITHUB_APP_INSTALLATION_TOKEN",
                "GITHUB_APP_USER_TOKEN",
                "GH_APP_TOKEN",
            ],
            make: |r| {
                let prefix = r.pick(&["ghs_", "ghs_", "ghu_"]);
                text(checksummed_token(r, prefix))
            },
            kinds: INLINE,
        },
        Spec {
            provider: "github-refresh-token",
            count: 2,
            names: &["GITHUB_REFRESH_TOKEN"],
            make: |r| text(checksummed_token(r, "ghr_")),
            kinds: INLINE,
        },
        Spec {
            provider: "github-fine-grained-pat",
            count: 5,
            names: &["GITHUB_TOKEN", "GH_PAT", "RELEASE_TOKEN"],
            make: |r| {
                text(format!(
                    "github_pat_11{}_{}",
                    r.chars(UPPER_DIGITS, 20),
                    r.chars(BASE62, 59)
                ))
            },
            kinds: INLINE,
        },
        Spec {
            provider: "gitlab-pat",
            count: 5,
            names: &["GITLAB_TOKEN", "GITLAB_PRIVATE_TOKEN", "CI_PUSH_TOKEN"],
            make: |r| text(format!("glpat-{}", r.chars(BASE64URL, 20))),
            kinds: INLINE,
        },
        Spec {
            provider: "gitlab-runner-token",
            count: 3,
            names: &["RUNNER_TOKEN", "CI_RUNNER_AUTH_TOKEN"],
            make: |r| text(format!("glrt-{}", r.chars(BASE64URL, 20))),
            kinds: INLINE,
        },
        Spec {
            provider: "gitlab-deploy-token",
            count: 2,
            names: &["GITLAB_DEPLOY_TOKEN"],
            make: |r| text(format!("gldt-{}", r.chars(BASE64URL, 20))),
            kinds: INLINE,
        },
        Spec {
            provider: "gitlab-trigger-token",
            count: 2,
            names: &["GITLAB_TRIGGER_TOKEN"],
            make: |r| text(format!("glptt-{}", r.chars(HEX, 40))),
            kinds: INLINE,
        },
        Spec {
            provider: "slack-bot-token",
            count: 4,
            names: &["SLACK_BOT_TOKEN", "SLACK_TOKEN"],
            make: |r| {
                text(format!(
                    "xoxb-{}-{}-{}",
                    r.digits(11),
                    r.digits(13),
                    r.chars(BASE62, 24)
                ))
            },
            kinds: INLINE,
        },
        Spec {
            provider: "slack-user-token",
            count: 3,
            names: &["SLACK_USER_TOKEN"],
            make: |r| {
                text(format!(
                    "xoxp-{}-{}-{}-{}",
                    r.digits(11),
                    r.digits(11),
                    r.digits(13),
                    r.chars(HEX, 32)
                ))
            },
            kinds: INLINE,
        },
        Spec {
            provider: "slack-webhook",
            count: 4,
            names: &["SLACK_WEBHOOK_URL", "ALERTS_WEBHOOK"],
            make: |r| {
                text(format!(
                    "https://hooks.slack.com/services/T{}/B{}/{}",
                    r.chars(UPPER_DIGITS, 8),
                    r.chars(UPPER_DIGITS, 10),
                    r.chars(BASE62, 24)
                ))
            },
            kinds: INLINE,
        },
        Spec {
            provider: "slack-app-token",
            count: 2,
            names: &["SLACK_APP_TOKEN"],
            make: |r| {
                text(format!(
                    "xapp-1-A{}-{}-{}",
                    r.chars(UPPER_DIGITS, 10),
                    r.digits(13),
                    r.chars(HEX, 64)
                ))
            },
            kinds: INLINE,
        },
        Spec {
            provider: "stripe-secret-key",
            count: 4,
            names: &["STRIPE_SECRET_KEY", "STRIPE_API_KEY"],
            make: |r| {
                let len = r.pick(&[24, 99]);
                text(format!("sk_live_{}", r.chars(BASE62, len)))
            },
            kinds: INLINE,
        },
        Spec {
            provider: "stripe-restricted-key",
            count: 3,
            names: &["STRIPE_RESTRICTED_KEY"],
            make: |r| {
                let len = r.pick(&[24, 99]);
                text(format!("rk_live_{}", r.chars(BASE62, len)))
            },
            kinds: INLINE,
        },
        Spec {
            provider: "twilio-auth-token",
            count: 3,
            names: &["TWILIO_AUTH_TOKEN"],
            make: |r| text(r.chars(HEX, 32)),
            kinds: INLINE,
        },
        Spec {
            provider: "twilio-api-secret",
            count: 2,
            names: &["TWILIO_API_SECRET"],
            make: |r| text(r.chars(BASE62, 32)),
            kinds: INLINE,
        },
        Spec {
            provider: "sendgrid-api-key",
            count: 4,
            names: &["SENDGRID_API_KEY"],
            make: |r| {
                text(format!(
                    "SG.{}.{}",
                    r.chars(BASE64URL, 22),
                    r.chars(BASE64URL, 43)
                ))
            },
            kinds: INLINE,
        },
        Spec {
            provider: "npm-token",
            count: 5,
            names: &["NPM_TOKEN", "NODE_AUTH_TOKEN"],
            make: |r| text(checksummed_token(r, "npm_")),
            kinds: INLINE,
        },
        Spec {
            provider: "pypi-token",
            count: 4,
            names: &["PYPI_TOKEN", "TWINE_PASSWORD", "UV_PUBLISH_TOKEN"],
            make: |r| {
                let len = r.range(120, 180);
                text(format!("pypi-AgEIcHlwaS5vcmc{}", r.chars(BASE64URL, len)))
            },
            kinds: INLINE,
        },
        Spec {
            provider: "dockerhub-pat",
            count: 4,
            names: &["DOCKERHUB_TOKEN", "DOCKER_PASSWORD"],
            make: |r| text(format!("dckr_pat_{}", r.chars(BASE64URL, 27))),
            kinds: INLINE,
        },
        Spec {
            provider: "shopify-token",
            count: 4,
            names: &[
                "SHOPIFY_ACCESS_TOKEN",
                "SHOPIFY_API_SECRET",
                "SHOPIFY_ADMIN_TOKEN",
            ],
            make: |r| {
                let prefix = r.pick(&["shpat_", "shpss_", "shpca_", "shppa_"]);
                text(format!("{prefix}{}", r.chars(HEX, 32)))
            },
            kinds: INLINE,
        },
        Spec {
            provider: "mailgun-api-key",
            count: 4,
            names: &["MAILGUN_API_KEY", "MAILGUN_KEY"],
            make: |r| text(format!("key-{}", r.chars(HEX, 32))),
            kinds: INLINE,
        },
        Spec {
            provider: "datadog-api-key",
            count: 3,
            names: &["DD_API_KEY", "DATADOG_API_KEY"],
            make: |r| text(r.chars(HEX, 32)),
            kinds: INLINE,
        },
        Spec {
            provider: "datadog-app-key",
            count: 2,
            names: &["DD_APP_KEY", "DATADOG_APP_KEY"],
            make: |r| text(r.chars(HEX, 40)),
            kinds: INLINE,
        },
        Spec {
            provider: "openai-api-key",
            count: 5,
            names: &["OPENAI_API_KEY"],
            make: |r| match r.below(3) {
                0 => text(format!(
                    "sk-proj-{}T3BlbkFJ{}",
                    r.chars(BASE64URL, 74),
                    r.chars(BASE64URL, 74)
                )),
                1 => text(format!(
                    "sk-svcacct-{}T3BlbkFJ{}",
                    r.chars(BASE64URL, 74),
                    r.chars(BASE64URL, 74)
                )),
                _ => text(format!(
                    "sk-{}T3BlbkFJ{}",
                    r.chars(BASE62, 20),
                    r.chars(BASE62, 20)
                )),
            },
            kinds: INLINE,
        },
        Spec {
            provider: "anthropic-api-key",
            count: 4,
            names: &["ANTHROPIC_API_KEY", "CLAUDE_API_KEY"],
            make: |r| {
                let kind = r.pick(&["api03", "api03", "admin01"]);
                text(format!("sk-ant-{kind}-{}AA", r.chars(BASE64URL, 93)))
            },
            kinds: INLINE,
        },
        Spec {
            provider: "private-key-rsa",
            count: 5,
            names: &["TLS_PRIVATE_KEY", "JWT_SIGNING_KEY", "SAML_SP_KEY"],
            make: |r| Value::Block(pem("RSA PRIVATE KEY", &rsa_der(r, "3082", 1190))),
            kinds: BLOCKS,
        },
        Spec {
            provider: "private-key-ec",
            count: 4,
            names: &["EC_PRIVATE_KEY", "APNS_SIGNING_KEY"],
            make: |r| Value::Block(pem("EC PRIVATE KEY", &ec_sec1_der(r))),
            kinds: BLOCKS,
        },
        Spec {
            provider: "private-key-pkcs8",
            count: 5,
            names: &["PRIVATE_KEY", "SERVICE_SIGNING_KEY", "TLS_KEY"],
            make: |r| {
                if r.below(2) == 0 {
                    Value::Block(pem("PRIVATE KEY", &ec_pkcs8_der(r)))
                } else {
                    Value::Block(pem("PRIVATE KEY", &rsa_der(r, "308204bd", 1217)))
                }
            },
            kinds: BLOCKS,
        },
        Spec {
            provider: "private-key-openssh",
            count: 6,
            names: &["DEPLOY_SSH_KEY", "SSH_PRIVATE_KEY"],
            make: |r| Value::Block(openssh_private_key(r)),
            kinds: OPENSSH,
        },
        Spec {
            provider: "private-key-pgp",
            count: 2,
            names: &["GPG_PRIVATE_KEY", "SIGNING_KEY"],
            make: |r| Value::Block(pgp_private_key(r)),
            kinds: BLOCKS,
        },
        Spec {
            provider: "jwt",
            count: 5,
            names: &[
                "SUPABASE_SERVICE_ROLE_KEY",
                "SERVICE_JWT",
                "API_BEARER_TOKEN",
            ],
            make: |r| text(jwt(r)),
            kinds: INLINE,
        },
        Spec {
            provider: "database-url",
            count: 8,
            names: &["DATABASE_URL", "MONGO_URI", "REDIS_URL", "AMQP_URL"],
            make: |r| text(database_url(r)),
            kinds: INLINE,
        },
        Spec {
            provider: "generic-password",
            count: 8,
            names: &[
                "DB_PASSWORD",
                "ADMIN_PASSWORD",
                "SMTP_PASSWORD",
                "LDAP_BIND_PASSWORD",
                "PASSWORD",
            ],
            make: |r| {
                let len = r.range(14, 28);
                text(r.chars(PASSWORD, len))
            },
            kinds: INLINE,
        },
        Spec {
            provider: "generic-api-key",
            count: 8,
            names: &[
                "API_KEY",
                "CLIENT_SECRET",
                "AUTH_TOKEN",
                "SECRET_KEY",
                "ENCRYPTION_KEY",
                "WEBHOOK_SIGNING_SECRET",
                "ACCESS_TOKEN",
            ],
            make: |r| match r.below(3) {
                0 => {
                    let len = r.pick(&[32, 40, 64]);
                    text(r.chars(HEX, len))
                }
                1 => {
                    let len = r.range(28, 44);
                    text(r.chars(BASE62, len))
                }
                _ => {
                    let len = r.pick(&[24, 32, 48]);
                    text(STANDARD.encode(r.bytes(len)))
                }
            },
            kinds: INLINE,
        },
        Spec {
            provider: "atlassian-api-token",
            count: 3,
            names: &[
                "JIRA_API_TOKEN",
                "CONFLUENCE_API_TOKEN",
                "ATLASSIAN_API_TOKEN",
            ],
            make: |r| {
                text(format!(
                    "ATATT3xFfGF0{}={}",
                    r.chars(BASE64URL, 171),
                    r.chars(HEX_UPPER, 8)
                ))
            },
            kinds: INLINE,
        },
        Spec {
            provider: "huggingface-token",
            count: 4,
            names: &["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"],
            make: |r| text(format!("hf_{}", r.chars(LETTERS, 34))),
            kinds: INLINE,
        },
        Spec {
            provider: "grafana-token",
            count: 4,
            names: &["GRAFANA_SERVICE_ACCOUNT_TOKEN", "GRAFANA_CLOUD_TOKEN"],
            make: |r| {
                if r.below(2) == 0 {
                    text(format!("glsa_{}_{}", r.chars(BASE62, 32), r.chars(HEX, 8)))
                } else {
                    let claims = json!({
                        "o": r.digits(6),
                        "n": format!("stack-{}-hm-write", r.digits(6)),
                        "k": r.chars(BASE62, 24),
                        "m": {"r": r.pick(&["us", "eu", "prod-us-east-0"])},
                    });
                    text(format!("glc_{}", STANDARD.encode(claims.to_string())))
                }
            },
            kinds: INLINE,
        },
        Spec {
            provider: "vault-token",
            count: 4,
            names: &["VAULT_TOKEN"],
            make: |r| {
                if r.below(2) == 0 {
                    text(format!("hvs.{}", r.chars(BASE62, 24)))
                } else {
                    text(format!("hvs.CAESI{}", r.chars(BASE64URL, 86)))
                }
            },
            kinds: INLINE,
        },
        Spec {
            provider: "heroku-api-key",
            count: 4,
            names: &["HEROKU_API_KEY"],
            make: |r| {
                if r.below(2) == 0 {
                    text(format!("HRKU-AA{}", r.chars(BASE64URL, 58)))
                } else {
                    text(r.uuid())
                }
            },
            kinds: INLINE,
        },
        Spec {
            provider: "sentry-auth-token",
            count: 3,
            names: &["SENTRY_AUTH_TOKEN"],
            make: |r| {
                if r.below(2) == 0 {
                    text(format!("sntryu_{}", r.chars(HEX, 64)))
                } else {
                    let claims = json!({
                        "iat": 1_700_000_000 + r.below(60_000_000),
                        "url": "https://sentry.io",
                        "region_url": "https://us.sentry.io",
                        "org": "acme",
                    });
                    let encoded = STANDARD.encode(claims.to_string());
                    text(format!(
                        "sntrys_{}_{}",
                        encoded.trim_end_matches('='),
                        r.chars(BASE64, 43)
                    ))
                }
            },
            kinds: INLINE,
        },
        Spec {
            provider: "telegram-bot-token",
            count: 3,
            names: &["TELEGRAM_BOT_TOKEN", "TG_BOT_TOKEN"],
            make: |r| text(format!("{}:AA{}", r.digits(10), r.chars(BASE64URL, 33))),
            kinds: INLINE,
        },
        Spec {
            provider: "postman-api-key",
            count: 2,
            names: &["POSTMAN_API_KEY"],
            make: |r| text(format!("PMAK-{}-{}", r.chars(HEX, 24), r.chars(HEX, 34))),
            kinds: INLINE,
        },
        Spec {
            provider: "linear-api-key",
            count: 2,
            names: &["LINEAR_API_KEY"],
            make: |r| text(format!("lin_api_{}", r.chars(BASE62, 40))),
            kinds: INLINE,
        },
        Spec {
            provider: "doppler-token",
            count: 2,
            names: &["DOPPLER_TOKEN"],
            make: |r| text(format!("dp.pt.{}", r.chars(BASE62, 43))),
            kinds: INLINE,
        },
        Spec {
            provider: "newrelic-api-key",
            count: 2,
            names: &["NEW_RELIC_API_KEY"],
            make: |r| text(format!("NRAK-{}", r.chars(UPPER_DIGITS, 27))),
            kinds: INLINE,
        },
        Spec {
            provider: "digitalocean-token",
            count: 3,
            names: &["DIGITALOCEAN_TOKEN", "DO_TOKEN"],
            make: |r| text(format!("dop_v1_{}", r.chars(HEX, 64))),
            kinds: INLINE,
        },
        Spec {
            provider: "databricks-token",
            count: 2,
            names: &["DATABRICKS_TOKEN"],
            make: |r| text(format!("dapi{}", r.chars(HEX, 32))),
            kinds: INLINE,
        },
        Spec {
            provider: "pulumi-token",
            count: 2,
            names: &["PULUMI_ACCESS_TOKEN"],
            make: |r| text(format!("pul-{}", r.chars(HEX, 40))),
            kinds: INLINE,
        },
    ]
}

/// Placeholder values as they appear in templates and docs, each with the kind of name it
/// stands in for.
const PLACEHOLDERS: &[(&str, &str)] = &[
    ("STRIPE_SECRET_KEY", "<your-stripe-secret-key>"),
    ("OPENAI_API_KEY", "<your-key>"),
    ("GITHUB_TOKEN", "YOUR_GITHUB_TOKEN_HERE"),
    ("DB_PASSWORD", "changeme"),
    ("ADMIN_PASSWORD", "REPLACE_ME"),
    ("API_KEY", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
    ("SLACK_BOT_TOKEN", "xoxb-your-bot-token"),
    ("SENDGRID_API_KEY", "SG.xxxxxxxx.yyyyyyyy"),
    ("AWS_SECRET_ACCESS_KEY", "your-secret-access-key"),
    ("SECRET_KEY", "insert-secret-key-here"),
    ("NPM_TOKEN", "npm_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
    ("GITLAB_TOKEN", "glpat-xxxxxxxxxxxxxxxxxxxx"),
    ("STRIPE_API_KEY", "sk_live_XXXXXXXXXXXXXXXXXXXXXXXX"),
    ("GITHUB_PAT", "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
    ("ANTHROPIC_API_KEY", "sk-ant-..."),
    ("PASSWORD", "********"),
    ("CLIENT_SECRET", "TODO"),
    ("HF_TOKEN", "hf_..."),
    ("DATADOG_API_KEY", "<DATADOG_API_KEY>"),
    ("AUTH_TOKEN", "dummy-token"),
    ("SMTP_PASSWORD", "<smtp-password>"),
    (
        "ENCRYPTION_KEY",
        "0000000000000000000000000000000000000000000000000000000000000000",
    ),
    (
        "DATABASE_URL",
        "postgres://user:password@localhost:5432/dbname",
    ),
    ("MAILGUN_API_KEY", "key-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
    ("VAULT_TOKEN", "hvs.REPLACE_WITH_TOKEN"),
    ("TWILIO_AUTH_TOKEN", "your_auth_token"),
    ("ACCESS_TOKEN", "abc123"),
    ("WEBHOOK_SIGNING_SECRET", "whsec_..."),
    ("DOCKER_PASSWORD", "<docker-hub-token>"),
    ("AZURE_CLIENT_SECRET", "{client-secret}"),
];

/// Template and variable references: the value is filled in elsewhere.
const TEMPLATES: &[(&str, &str)] = &[
    ("API_KEY", "${API_KEY}"),
    ("STRIPE_SECRET_KEY", "{{ secrets.STRIPE_SECRET_KEY }}"),
    ("GITHUB_TOKEN", "${{ secrets.GITHUB_TOKEN }}"),
    ("DB_PASSWORD", "{{ .Values.database.password }}"),
    ("SECRET_KEY", "%(secret_key)s"),
    ("AWS_SECRET_ACCESS_KEY", "$(AWS_SECRET_ACCESS_KEY)"),
    ("OPENAI_API_KEY", "<%= ENV['OPENAI_API_KEY'] %>"),
    ("SLACK_WEBHOOK_URL", "${SLACK_WEBHOOK_URL:?required}"),
    ("DATABASE_URL", "postgres://app:${DB_PASSWORD}@db:5432/app"),
    ("NPM_TOKEN", "${NPM_TOKEN}"),
    ("VAULT_TOKEN", "{{ vault_token }}"),
    ("SENTRY_AUTH_TOKEN", "#{SENTRY_AUTH_TOKEN}"),
];

/// Names whose values are looked up in the environment.
const ENV_REF_NAMES: &[&str] = &[
    "DB_PASSWORD",
    "API_KEY",
    "GITHUB_TOKEN",
    "STRIPE_SECRET_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "SLACK_BOT_TOKEN",
    "OPENAI_API_KEY",
    "CLIENT_SECRET",
    "REDIS_PASSWORD",
    "JWT_SECRET",
];

/// Settings that mention passwords, keys and tokens but hold no secret.
const BENIGN_SETTINGS: &[(&str, &str)] = &[
    ("PASSWORD_MIN_LENGTH", "12"),
    ("PASSWORD_FIELD", "password"),
    ("API_KEY_HEADER", "X-Api-Key"),
    ("TOKEN_URL", "https://oauth2.googleapis.com/token"),
    ("SECRET_NAME", "prod-db-credentials"),
    ("PASSWORD_HASH_ALGORITHM", "argon2id"),
    ("TOKEN_TTL", "15m"),
    ("AUTH_TOKEN_COOKIE", "session_token"),
    ("API_KEY_PREFIX", "sk_live_"),
    ("SECRET_STORE", "aws-secretsmanager"),
    ("PASSWORD_RESET_PATH", "/account/password/reset"),
    ("KEY_ROTATION_DAYS", "90"),
    ("GITHUB_TOKEN_SCOPE", "repo,read:org"),
    ("ACCESS_TOKEN_AUDIENCE", "https://api.acme.dev"),
    ("DB_PASSWORD_FILE", "/run/secrets/db_password"),
];

/// Database URLs without a password in them.
const PASSWORDLESS_URLS: &[(&str, &str)] = &[
    ("DATABASE_URL", "postgres://localhost:5432/app_development"),
    ("DATABASE_URL", "postgresql:///app?host=/var/run/postgresql"),
    ("MYSQL_URL", "mysql://root@127.0.0.1:3306/test"),
    ("REDIS_URL", "redis://redis:6379/0"),
    ("MONGO_URI", "mongodb://mongo:27017/app?replicaSet=rs0"),
    ("AMQP_URL", "amqp://guest@rabbitmq:5672/"),
    ("DATABASE_URL", "sqlite:///var/lib/app/app.db"),
    (
        "DATABASE_URL",
        "postgres://app@db.internal:5432/app?sslmode=verify-full",
    ),
];

fn near_miss_specs() -> Vec<Spec> {
    vec![
        Spec {
            provider: "aws-documented-example",
            count: 6,
            names: &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
            make: |r| {
                text(
                    r.pick(&[
                        "AKIAIOSFODNN7EXAMPLE",
                        "AKIAI44QH8DHBEXAMPLE",
                        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
                    ])
                    .to_owned(),
                )
            },
            kinds: INLINE,
        },
        Spec {
            provider: "placeholder",
            count: 30,
            names: &[],
            make: |_| Value::EnvRef,
            kinds: INLINE,
        },
        Spec {
            provider: "template-reference",
            count: 14,
            names: &[],
            make: |_| Value::EnvRef,
            kinds: INLINE,
        },
        Spec {
            provider: "environment-lookup",
            count: 20,
            names: ENV_REF_NAMES,
            make: |_| Value::EnvRef,
            kinds: INLINE,
        },
        Spec {
            provider: "git-commit-sha",
            count: 12,
            names: &["GIT_COMMIT", "BUILD_SHA", "REVISION", "BASE_REF_SHA"],
            make: |r| text(r.chars(HEX, 40)),
            kinds: INLINE,
        },
        Spec {
            provider: "sha256-digest",
            count: 12,
            names: &[
                "CHECKSUM_SHA256",
                "IMAGE_DIGEST",
                "ARCHIVE_SHA256",
                "EXPECTED_HASH",
            ],
            make: |r| {
                let hex = r.chars(HEX, 64);
                text(if r.below(2) == 0 {
                    format!("sha256:{hex}")
                } else {
                    hex
                })
            },
            kinds: INLINE,
        },
        Spec {
            provider: "uuid",
            count: 14,
            names: &[
                "REQUEST_ID",
                "AZURE_TENANT_ID",
                "AZURE_CLIENT_ID",
                "SUBSCRIPTION_ID",
                "TRACE_ID",
                "WORKSPACE_ID",
            ],
            make: |r| text(r.uuid()),
            kinds: INLINE,
        },
        Spec {
            provider: "data-uri",
            count: 8,
            names: &["LOGO_DATA_URI", "PLACEHOLDER_IMAGE", "FAVICON"],
            make: |r| {
                // A real PNG signature and IHDR start, then image bytes.
                let mut png = vec![
                    0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d,
                ];
                png.extend_from_slice(b"IHDR");
                let len = r.range(90, 300);
                png.extend(r.bytes(len));
                text(format!("data:image/png;base64,{}", STANDARD.encode(png)))
            },
            kinds: &[
                FileKind::JavaScript,
                FileKind::TypeScript,
                FileKind::Markdown,
                FileKind::JsonConfig,
                FileKind::Python,
                FileKind::Go,
            ],
        },
        Spec {
            provider: "public-key",
            count: 4,
            names: &["JWT_PUBLIC_KEY", "SIGNING_PUBLIC_KEY", "OIDC_VERIFY_KEY"],
            make: |r| {
                if r.below(2) == 0 {
                    Value::Block(pem("PUBLIC KEY", &ec_spki_der(r)))
                } else {
                    Value::Block(pem(
                        "PUBLIC KEY",
                        &rsa_der(r, "30820122300d06092a864886f70d01010105000382010f00", 270),
                    ))
                }
            },
            kinds: BLOCKS,
        },
        Spec {
            provider: "certificate",
            count: 4,
            names: &["CA_CERT", "TLS_CERT", "ROOT_CA"],
            make: |r| Value::Block(pem("CERTIFICATE", &rsa_der(r, "308203", 900))),
            kinds: BLOCKS,
        },
        Spec {
            provider: "ssh-public-key",
            count: 5,
            names: &["DEPLOY_SSH_PUBLIC_KEY", "AUTHORIZED_KEY"],
            make: |r| text(ssh_ed25519_public_key(r)),
            kinds: SSH_PUBLIC,
        },
        Spec {
            provider: "publishable-key",
            count: 8,
            names: &[
                "STRIPE_PUBLISHABLE_KEY",
                "MAPBOX_PUBLIC_TOKEN",
                "TWILIO_ACCOUNT_SID",
            ],
            make: |r| match r.below(3) {
                0 => text(format!("pk_live_{}", r.chars(BASE62, 24))),
                1 => {
                    let claims = json!({"u": "acme", "a": r.chars(b"abcdefghijklmnopqrstuvwxyz0123456789", 25)});
                    text(format!(
                        "pk.{}.{}",
                        URL_SAFE_NO_PAD.encode(claims.to_string()),
                        r.chars(BASE64URL, 22)
                    ))
                }
                _ => text(format!("AC{}", r.chars(HEX, 32))),
            },
            kinds: INLINE,
        },
        Spec {
            provider: "documented-example-jwt",
            count: 2,
            names: &["EXAMPLE_TOKEN"],
            make: |_| {
                // The token jwt.io shows on its front page and in its introduction.
                text("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c".to_owned())
            },
            kinds: &[FileKind::Markdown, FileKind::Python, FileKind::JavaScript],
        },
        Spec {
            provider: "wrong-length",
            count: 12,
            names: &[],
            make: |r| {
                let token = match r.below(10) {
                    0 => format!("AKIA{}", r.chars(BASE32, 12)),
                    1 => format!("ghp_{}", r.chars(BASE62, 20)),
                    2 => format!("glpat-{}", r.chars(BASE62, 8)),
                    3 => format!("xoxb-{}", r.digits(6)),
                    4 => format!("npm_{}", r.chars(BASE62, 12)),
                    5 => format!("sk_live_{}", r.chars(BASE62, 6)),
                    6 => format!("AIza{}", r.chars(BASE62, 12)),
                    7 => format!("dckr_pat_{}", r.chars(BASE62, 8)),
                    8 => format!("hf_{}", r.chars(LETTERS, 8)),
                    _ => format!("SG.{}", r.chars(BASE62, 10)),
                };
                text(token)
            },
            kinds: INLINE,
        },
        Spec {
            provider: "wrong-alphabet",
            count: 8,
            names: &[],
            make: |r| {
                let token = match r.below(3) {
                    // Lowercase and 0/1/8/9 are outside the base32 alphabet of AWS key ids.
                    0 => format!("akia{}", r.chars(b"abcdefghijklmnopqrstuvwxyz234567", 16)),
                    1 => format!("AKIA{}", r.chars(b"0189abcdefghijklmnopqrstuvwxyz", 16)),
                    _ => format!("shpat_{}", r.chars(b"ghijklmnopqrstuvwxyz", 32)),
                };
                text(token)
            },
            kinds: INLINE,
        },
        Spec {
            provider: "bad-checksum",
            count: 5,
            names: &["GITHUB_TOKEN", "NPM_TOKEN"],
            make: |r| {
                let prefix = r.pick(&["ghp_", "ghp_", "npm_"]);
                text(bad_checksum_token(r, prefix))
            },
            kinds: INLINE,
        },
        Spec {
            provider: "benign-setting",
            count: 15,
            names: &[],
            make: |_| Value::EnvRef,
            kinds: INLINE,
        },
        Spec {
            provider: "passwordless-url",
            count: 8,
            names: &[],
            make: |_| Value::EnvRef,
            kinds: INLINE,
        },
    ]
}

/// Names the look-alike tokens are assigned to.
const LOOKALIKE_NAMES: &[&str] = &["LEGACY_REF", "INVITE_CODE", "SHORT_ID", "LOOKUP_HANDLE"];

/// The variable name that fits a value whose provider has several token shapes, so that a
/// name never contradicts its value (a Twilio account SID is not called a Mapbox token).
fn name_for_value(provider: &str, value: &Value) -> Option<&'static str> {
    let Value::Text(value) = value else {
        return None;
    };
    let by_prefix: &[(&str, &str)] = match provider {
        "azure-storage-key" => &[
            (
                "DefaultEndpointsProtocol=",
                "AZURE_STORAGE_CONNECTION_STRING",
            ),
            ("", "AZURE_STORAGE_KEY"),
        ],
        "grafana-token" => &[
            ("glsa_", "GRAFANA_SERVICE_ACCOUNT_TOKEN"),
            ("", "GRAFANA_CLOUD_TOKEN"),
        ],
        "github-app-token" => &[
            ("ghs_", "GITHUB_APP_INSTALLATION_TOKEN"),
            ("", "GITHUB_APP_USER_TOKEN"),
        ],
        "database-url" => &[
            ("mongodb", "MONGO_URI"),
            ("redis", "REDIS_URL"),
            ("amqp", "AMQP_URL"),
            ("", "DATABASE_URL"),
        ],
        "publishable-key" => &[
            ("pk_live_", "STRIPE_PUBLISHABLE_KEY"),
            ("pk.", "MAPBOX_PUBLIC_TOKEN"),
            ("", "TWILIO_ACCOUNT_SID"),
        ],
        "aws-documented-example" => &[("AKIA", "AWS_ACCESS_KEY_ID"), ("", "AWS_SECRET_ACCESS_KEY")],
        "bad-checksum" => &[("npm_", "NPM_TOKEN"), ("", "GITHUB_TOKEN")],
        _ => &[],
    };
    by_prefix
        .iter()
        .find(|(prefix, _)| value.starts_with(prefix))
        .map(|(_, name)| *name)
}

fn secret_candidates(rng: &mut Rng) -> Vec<Candidate> {
    let mut out = Vec::new();
    for spec in secret_specs() {
        for index in 0..spec.count {
            let value = (spec.make)(rng);
            let name = name_for_value(spec.provider, &value)
                .unwrap_or(spec.names[index % spec.names.len()])
                .to_owned();
            out.push(Candidate {
                provider: spec.provider,
                label: Label::Secret,
                name,
                value,
                kinds: spec.kinds,
            });
        }
    }
    out
}

fn near_miss_candidates(rng: &mut Rng) -> Vec<Candidate> {
    let mut out = Vec::new();
    for spec in near_miss_specs() {
        for index in 0..spec.count {
            let (name, value) = match spec.provider {
                "placeholder" => {
                    let (name, value) = PLACEHOLDERS[index % PLACEHOLDERS.len()];
                    (name.to_owned(), text(value.to_owned()))
                }
                "template-reference" => {
                    let (name, value) = TEMPLATES[index % TEMPLATES.len()];
                    (name.to_owned(), text(value.to_owned()))
                }
                "benign-setting" => {
                    let (name, value) = BENIGN_SETTINGS[index % BENIGN_SETTINGS.len()];
                    (name.to_owned(), text(value.to_owned()))
                }
                "passwordless-url" => {
                    let (name, value) = PASSWORDLESS_URLS[index % PASSWORDLESS_URLS.len()];
                    (name.to_owned(), text(value.to_owned()))
                }
                _ if spec.names.is_empty() => (
                    LOOKALIKE_NAMES[index % LOOKALIKE_NAMES.len()].to_owned(),
                    (spec.make)(rng),
                ),
                _ => {
                    let value = (spec.make)(rng);
                    let name = name_for_value(spec.provider, &value)
                        .unwrap_or(spec.names[index % spec.names.len()]);
                    (name.to_owned(), value)
                }
            };
            out.push(Candidate {
                provider: spec.provider,
                label: Label::NearMiss,
                name,
                value,
                kinds: spec.kinds,
            });
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Value formats

/// PEM armour around `der`, 64 characters a line.
fn pem(label: &str, der: &[u8]) -> Vec<String> {
    let mut lines = vec![format!("-----BEGIN {label}-----")];
    lines.extend(wrap(&STANDARD.encode(der), 64));
    lines.push(format!("-----END {label}-----"));
    lines
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    text.as_bytes()
        .chunks(width)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect()
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// A DER-shaped blob: the given header bytes, then `len` random bytes (the size of an RSA
/// 2048 key, certificate or public key body).
fn rsa_der(rng: &mut Rng, header_hex: &str, len: usize) -> Vec<u8> {
    let mut der = hex_bytes(header_hex);
    der.extend(rng.bytes(len));
    der
}

/// A SEC 1 P-256 private key: the real structure around a random scalar and point.
fn ec_sec1_der(rng: &mut Rng) -> Vec<u8> {
    let mut der = hex_bytes("30770201010420");
    der.extend(rng.bytes(32));
    der.extend(hex_bytes("a00a06082a8648ce3d030107a14403420004"));
    der.extend(rng.bytes(64));
    der
}

/// A PKCS #8 P-256 private key: the real structure around a random scalar and point.
fn ec_pkcs8_der(rng: &mut Rng) -> Vec<u8> {
    let mut der =
        hex_bytes("308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420");
    der.extend(rng.bytes(32));
    der.extend(hex_bytes("a14403420004"));
    der.extend(rng.bytes(64));
    der
}

/// A SubjectPublicKeyInfo for a P-256 point.
fn ec_spki_der(rng: &mut Rng) -> Vec<u8> {
    let mut der = hex_bytes("3059301306072a8648ce3d020106082a8648ce3d03010703420004");
    der.extend(rng.bytes(64));
    der
}

fn ssh_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// An unencrypted OpenSSH ed25519 private key in the `openssh-key-v1` layout.
fn openssh_private_key(rng: &mut Rng) -> Vec<String> {
    let public = rng.bytes(32);
    let mut public_blob = Vec::new();
    ssh_string(&mut public_blob, b"ssh-ed25519");
    ssh_string(&mut public_blob, &public);

    let check = rng.bytes(4);
    let mut private = Vec::new();
    private.extend_from_slice(&check);
    private.extend_from_slice(&check);
    ssh_string(&mut private, b"ssh-ed25519");
    ssh_string(&mut private, &public);
    let mut secret = rng.bytes(32);
    secret.extend_from_slice(&public);
    ssh_string(&mut private, &secret);
    ssh_string(&mut private, b"deploy@ci");
    let mut pad = 1u8;
    while !private.len().is_multiple_of(8) {
        private.push(pad);
        pad += 1;
    }

    let mut blob = b"openssh-key-v1\0".to_vec();
    ssh_string(&mut blob, b"none");
    ssh_string(&mut blob, b"none");
    ssh_string(&mut blob, b"");
    blob.extend_from_slice(&1u32.to_be_bytes());
    ssh_string(&mut blob, &public_blob);
    ssh_string(&mut blob, &private);

    let mut lines = vec!["-----BEGIN OPENSSH PRIVATE KEY-----".to_owned()];
    lines.extend(wrap(&STANDARD.encode(blob), 70));
    lines.push("-----END OPENSSH PRIVATE KEY-----".to_owned());
    lines
}

fn ssh_ed25519_public_key(rng: &mut Rng) -> String {
    let mut blob = Vec::new();
    ssh_string(&mut blob, b"ssh-ed25519");
    ssh_string(&mut blob, &rng.bytes(32));
    let host = rng.pick(&["deploy@ci", "ops@bastion", "release-bot"]);
    format!("ssh-ed25519 {} {host}", STANDARD.encode(blob))
}

/// An ASCII-armoured OpenPGP secret key block (secret-key packet tag, then key material).
fn pgp_private_key(rng: &mut Rng) -> Vec<String> {
    let mut packet = vec![0x95, 0x03, 0xc6, 0x04];
    packet.extend(rng.bytes(930));
    let checksum = STANDARD.encode(rng.bytes(3));
    let mut lines = vec![
        "-----BEGIN PGP PRIVATE KEY BLOCK-----".to_owned(),
        String::new(),
    ];
    lines.extend(wrap(&STANDARD.encode(packet), 64));
    lines.push(format!("={checksum}"));
    lines.push("-----END PGP PRIVATE KEY BLOCK-----".to_owned());
    lines
}

fn jwt(rng: &mut Rng) -> String {
    let alg = rng.pick(&["HS256", "RS256", "ES256"]);
    let header = json!({"alg": alg, "typ": "JWT"});
    let issued = 1_700_000_000 + rng.below(60_000_000);
    let claims = json!({
        "iss": rng.pick(&["https://auth.acme.dev", "supabase", "https://login.acme.io/"]),
        "sub": rng.uuid(),
        "role": rng.pick(&["service_role", "admin", "deployer"]),
        "iat": issued,
        "exp": issued + 315_360_000,
    });
    let signature_len = match alg {
        "RS256" => 256,
        "ES256" => 64,
        _ => 32,
    };
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(rng.bytes(signature_len))
    )
}

fn database_url(rng: &mut Rng) -> String {
    let user = rng.pick(&["app", "billing", "orders_rw", "admin", "svc_reporting"]);
    let len = rng.range(16, 28);
    let password = rng.chars(URL_PASSWORD, len);
    match rng.below(5) {
        0 => format!("postgres://{user}:{password}@db.prod.internal:5432/{user}"),
        1 => format!("mysql://{user}:{password}@mysql-primary.acme.internal:3306/shop"),
        2 => format!(
            "mongodb+srv://{user}:{password}@cluster0.{}.mongodb.net/app?retryWrites=true",
            rng.chars(b"abcdefghijklmnopqrstuvwxyz0123456789", 5)
        ),
        3 => format!("redis://default:{password}@cache.acme.internal:6379/0"),
        _ => format!("amqps://{user}:{password}@mq.acme.internal:5671/prod"),
    }
}

// ---------------------------------------------------------------------------------------------
// Placement and rendering

#[derive(Default)]
struct Output {
    files: Vec<CorpusFile>,
    labels: Vec<LabelledLine>,
    paths: BTreeMap<String, usize>,
}

impl Output {
    /// Makes `path` unique by numbering a directory when it was already used.
    fn unique_path(&mut self, path: String) -> String {
        let seen = self.paths.entry(path.clone()).or_insert(0);
        *seen += 1;
        if *seen == 1 {
            return path;
        }
        let number = *seen;
        match path.split_once('/') {
            Some((dir, rest)) => format!("{dir}-{number}/{rest}"),
            None => format!("{number}-{path}"),
        }
    }

    fn add(&mut self, path: String, kind: FileKind, builder: FileBuilder) {
        let path = self.unique_path(path);
        for (line, span, candidate_label, provider) in builder.labels {
            self.labels.push(LabelledLine {
                file: path.clone(),
                line,
                span,
                provider,
                label: candidate_label,
                kind,
            });
        }
        let mut text = builder.lines.join("\n");
        text.push('\n');
        self.files.push(CorpusFile { path, kind, text });
    }
}

/// Lines of one file and the labels of the candidates in it.
#[derive(Default)]
struct FileBuilder {
    lines: Vec<String>,
    labels: Vec<(u32, (u32, u32), Label, &'static str)>,
}

impl FileBuilder {
    fn push(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }

    fn push_candidate(&mut self, candidate: &Candidate, rendered: Rendered) {
        let first = self.lines.len() as u32 + 1;
        let last = first + rendered.lines.len() as u32 - 1;
        self.labels.push((
            first + rendered.primary as u32,
            (first, last),
            candidate.label,
            candidate.provider,
        ));
        self.lines.extend(rendered.lines);
    }
}

/// A candidate rendered in a file kind: its lines and which of them holds the value's start.
struct Rendered {
    lines: Vec<String>,
    primary: usize,
}

impl Rendered {
    fn one(line: String) -> Rendered {
        Rendered {
            lines: vec![line],
            primary: 0,
        }
    }
}

const SERVICES: &[&str] = &[
    "billing",
    "checkout",
    "notifier",
    "inventory",
    "search",
    "gateway",
    "ledger",
    "reports",
    "identity",
    "media",
    "scheduler",
    "webhooks",
];

fn place_candidates(rng: &mut Rng, mut candidates: Vec<Candidate>, out: &mut Output) {
    rng.shuffle(&mut candidates);
    // Spread each provider over its kinds: the n-th candidate of a provider goes to the
    // (offset + n)-th kind, the offset varying by provider so that every kind gets a mix.
    // Keys live in key files more often than anywhere else: every other key goes to one.
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut by_kind: BTreeMap<FileKind, Vec<Candidate>> = BTreeMap::new();
    for candidate in candidates {
        let offset = candidate.provider.bytes().fold(0usize, |acc, b| {
            acc.wrapping_mul(31).wrapping_add(b as usize)
        });
        let nth = seen.entry(candidate.provider).or_insert(0);
        let key_file = candidate.kinds[0];
        let kind = if matches!(key_file, FileKind::PemKey | FileKind::OpenSshKey)
            && nth.is_multiple_of(2)
        {
            key_file
        } else {
            candidate.kinds[(offset + *nth) % candidate.kinds.len()]
        };
        *nth += 1;
        by_kind.entry(kind).or_default().push(candidate);
    }
    for (kind, list) in by_kind {
        let mut rest = list.as_slice();
        let mut index = 0;
        while !rest.is_empty() {
            let take = match kind {
                FileKind::PemKey | FileKind::OpenSshKey => 1,
                _ => rng.range(1, 4).min(rest.len()),
            };
            let (chunk, tail) = rest.split_at(take);
            build_file(rng, kind, index, chunk, out);
            rest = tail;
            index += 1;
        }
    }
}

fn snake(name: &str) -> String {
    name.to_ascii_lowercase()
}

fn kebab(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

fn camel(name: &str) -> String {
    let mut out = String::new();
    for (i, part) in name.split('_').enumerate() {
        let lower = part.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&lower);
        } else {
            let mut chars = lower.chars();
            if let Some(first) = chars.next() {
                out.push(first.to_ascii_uppercase());
                out.push_str(chars.as_str());
            }
        }
    }
    out
}

/// A double-quoted string literal; generated values hold no quote or backslash, except the
/// `\n` escapes of a block folded onto one line, which every double-quoted syntax here reads.
fn quoted(value: &str) -> String {
    format!("\"{value}\"")
}

fn json_string(value: &str) -> String {
    serde_json::Value::String(value.to_owned()).to_string()
}

/// How an assignment of `value` to `name` is written in `kind`.
fn render_text(kind: FileKind, name: &str, value: &str) -> String {
    match kind {
        FileKind::Rust => format!("pub const {name}: &str = {};", quoted(value)),
        FileKind::Python => format!("{} = {}", snake(name), quoted(value)),
        FileKind::JavaScript => format!("const {} = {};", camel(name), quoted(value)),
        FileKind::TypeScript => {
            format!("export const {}: string = {};", camel(name), quoted(value))
        }
        FileKind::Go => format!("\t{} = {}", camel(name), quoted(value)),
        FileKind::Java => format!(
            "    private static final String {name} = {};",
            quoted(value)
        ),
        FileKind::Env => format!("{name}={value}"),
        FileKind::Shell => format!("export {name}={}", quoted(value)),
        FileKind::YamlK8s => format!("  {}: {}", kebab(name), quoted(value)),
        FileKind::YamlCompose => format!("      {name}: {}", quoted(value)),
        FileKind::YamlCi => format!("  {name}: {}", quoted(value)),
        FileKind::JsonConfig | FileKind::JsonServiceAccount | FileKind::Lockfile => {
            format!("    {}: {}", json_string(&camel(name)), json_string(value))
        }
        FileKind::Toml => format!("{} = {}", snake(name), quoted(value)),
        FileKind::Ini => format!("{} = {value}", snake(name)),
        FileKind::Terraform => format!("  {} = {}", snake(name), quoted(value)),
        FileKind::Dockerfile => format!("ENV {name}={value}"),
        FileKind::Markdown => format!("export {name}={}", quoted(value)),
        FileKind::PemKey | FileKind::OpenSshKey => value.to_owned(),
    }
}

/// How reading `name` from the environment is written in `kind`.
fn render_env_ref(kind: FileKind, name: &str) -> String {
    match kind {
        FileKind::Rust => format!(
            "pub static {name}: LazyLock<String> = LazyLock::new(|| std::env::var(\"{name}\").unwrap_or_default());"
        ),
        FileKind::Python => format!("{} = os.environ[\"{name}\"]", snake(name)),
        FileKind::JavaScript => format!("const {} = process.env.{name};", camel(name)),
        FileKind::TypeScript => {
            format!(
                "export const {}: string = process.env.{name} ?? \"\";",
                camel(name)
            )
        }
        FileKind::Go => format!("\t{} = os.Getenv(\"{name}\")", camel(name)),
        FileKind::Java => {
            format!("    private static final String {name} = System.getenv(\"{name}\");")
        }
        FileKind::Env => format!("{name}=${{{name}}}"),
        FileKind::Shell => format!("export {name}=\"${{{name}:?{name} must be set}}\""),
        FileKind::YamlK8s => format!("  {}: \"${{{name}}}\"", kebab(name)),
        FileKind::YamlCompose => format!("      {name}: ${{{name}}}"),
        FileKind::YamlCi => format!("  {name}: ${{{{ secrets.{name} }}}}"),
        FileKind::JsonConfig | FileKind::JsonServiceAccount | FileKind::Lockfile => {
            format!("    {}: \"${{{name}}}\"", json_string(&camel(name)))
        }
        FileKind::Toml => format!("{} = \"${{{name}}}\"", snake(name)),
        FileKind::Ini => format!("{} = ${{ENV:{name}}}", snake(name)),
        FileKind::Terraform => format!("  {} = var.{}", snake(name), snake(name)),
        FileKind::Dockerfile => format!("ENV {name}=${{{name}}}"),
        FileKind::Markdown => {
            format!(
                "export {name}=\"$(vault kv get -field=value secret/{})\"",
                kebab(name)
            )
        }
        FileKind::PemKey | FileKind::OpenSshKey => String::new(),
    }
}

/// How a multi-line value assigned to `name` is written in `kind`.
fn render_block(kind: FileKind, name: &str, lines: &[String]) -> Rendered {
    let indented = |indent: &str| -> Vec<String> {
        lines.iter().map(|line| format!("{indent}{line}")).collect()
    };
    let wrapped = |head: String, body: Vec<String>, tail: Option<String>, primary: usize| {
        let mut out = vec![head];
        out.extend(body);
        out.extend(tail);
        Rendered {
            lines: out,
            primary,
        }
    };
    let (first, rest) = match lines.split_first() {
        Some((first, rest)) => (first.as_str(), rest.to_vec()),
        None => ("", Vec::new()),
    };
    match kind {
        FileKind::PemKey | FileKind::OpenSshKey => Rendered {
            lines: lines.to_vec(),
            primary: 0,
        },
        FileKind::YamlK8s => wrapped(format!("  {}: |", kebab(name)), indented("    "), None, 1),
        FileKind::YamlCi => wrapped(format!("  {name}: |"), indented("    "), None, 1),
        FileKind::YamlCompose => wrapped(format!("      {name}: |"), indented("        "), None, 1),
        FileKind::Terraform => wrapped(
            format!("  {} = <<-EOT", snake(name)),
            indented("    "),
            Some("  EOT".to_owned()),
            1,
        ),
        // Markdown candidates sit inside a shell code block.
        FileKind::Markdown | FileKind::Shell => wrapped(
            format!("cat > \"$HOME/.keys/{}\" <<'EOF'", kebab(name)),
            lines.to_vec(),
            Some("EOF".to_owned()),
            1,
        ),
        FileKind::Java => wrapped(
            format!("    private static final String {name} = \"\"\""),
            indented("        "),
            Some("        \"\"\";".to_owned()),
            1,
        ),
        FileKind::Python => wrapped(
            format!("{} = \"\"\"{first}", snake(name)),
            rest,
            Some("\"\"\"".to_owned()),
            0,
        ),
        FileKind::Rust => wrapped(
            format!("pub const {name}: &str = r#\"{first}"),
            rest,
            Some("\"#;".to_owned()),
            0,
        ),
        FileKind::Go => wrapped(
            format!("\t{} = `{first}", camel(name)),
            rest,
            Some("`".to_owned()),
            0,
        ),
        FileKind::JavaScript => wrapped(
            format!("const {} = `{first}", camel(name)),
            rest,
            Some("`;".to_owned()),
            0,
        ),
        FileKind::TypeScript => wrapped(
            format!("export const {}: string = `{first}", camel(name)),
            rest,
            Some("`;".to_owned()),
            0,
        ),
        FileKind::JsonConfig | FileKind::JsonServiceAccount | FileKind::Lockfile => {
            let joined = lines.join("\n") + "\n";
            Rendered::one(format!(
                "    {}: {}",
                json_string(&camel(name)),
                json_string(&joined)
            ))
        }
        FileKind::Env | FileKind::Toml | FileKind::Ini | FileKind::Dockerfile => {
            let escaped = lines.join("\\n") + "\\n";
            match kind {
                FileKind::Toml => Rendered::one(format!("{} = \"{escaped}\"", snake(name))),
                _ => Rendered::one(format!("{name}=\"{escaped}\"")),
            }
        }
    }
}

fn render(kind: FileKind, candidate: &Candidate) -> Rendered {
    match &candidate.value {
        Value::Text(value) => Rendered::one(render_text(kind, &candidate.name, value)),
        Value::EnvRef => Rendered::one(render_env_ref(kind, &candidate.name)),
        Value::Block(lines) => render_block(kind, &candidate.name, lines),
    }
}

/// The surroundings of the candidates in one kind of file: opening lines, lines that may sit
/// between candidates, closing lines. `{svc}` is replaced by the service name.
struct Frame {
    path: String,
    header: &'static [&'static str],
    filler: &'static [&'static str],
    footer: &'static [&'static str],
}

fn frame(kind: FileKind, svc: &str, variant: usize, candidates: &[Candidate]) -> Frame {
    let only = candidates.first();
    let (path, header, filler, footer): (String, &[&str], &[&str], &[&str]) = match kind {
        FileKind::Rust => (
            format!(
                "services/{svc}/src/{}.rs",
                ["config", "settings", "client"][variant % 3]
            ),
            &[
                "//! Runtime configuration of the service.",
                "",
                "use std::sync::LazyLock;",
                "use std::time::Duration;",
                "",
            ],
            &[
                "pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);",
                "pub const MAX_RETRIES: u32 = 5;",
                "",
                "/// Where the service listens unless `PORT` says otherwise.",
                "pub const DEFAULT_PORT: u16 = 8080;",
                "pub fn user_agent() -> String { format!(\"{svc}/{}\", env!(\"CARGO_PKG_VERSION\")) }",
                "pub const REGION: &str = \"eu-west-1\";",
                "pub const QUEUE_NAME: &str = \"{svc}-events\";",
            ],
            &[
                "",
                "pub fn timeout() -> Duration {",
                "    REQUEST_TIMEOUT",
                "}",
            ],
        ),
        FileKind::Python => (
            format!(
                "{svc}/app/{}.py",
                ["settings", "config", "clients"][variant % 3]
            ),
            &[
                "\"\"\"Settings for the {svc} service.\"\"\"",
                "",
                "import os",
                "from pathlib import Path",
                "",
                "BASE_DIR = Path(__file__).resolve().parent.parent",
            ],
            &[
                "DEBUG = os.environ.get(\"DEBUG\", \"0\") == \"1\"",
                "ALLOWED_HOSTS = [\"{svc}.acme.dev\", \"localhost\"]",
                "TIME_ZONE = \"UTC\"",
                "",
                "# Seconds before an idle connection is closed.",
                "CONN_MAX_AGE = 60",
                "INSTALLED_APPS = [\"django.contrib.auth\", \"django.contrib.contenttypes\", \"{svc}\"]",
                "LOGGING = {\"version\": 1, \"disable_existing_loggers\": False}",
            ],
            &[
                "",
                "def database_options():",
                "    return {\"connect_timeout\": 10, \"sslmode\": \"require\"}",
            ],
        ),
        FileKind::JavaScript => (
            format!(
                "web/{svc}/src/{}.js",
                ["config", "client", "constants"][variant % 3]
            ),
            &["'use strict';", "", "const path = require('path');", ""],
            &[
                "const port = Number(process.env.PORT || 3000);",
                "const staticDir = path.join(__dirname, 'public');",
                "",
                "// Keep in sync with the API gateway's limit.",
                "const maxBodyBytes = 1024 * 1024;",
                "const retryDelaysMs = [100, 250, 1000];",
                "const service = '{svc}';",
            ],
            &[
                "",
                "module.exports = { port, staticDir, maxBodyBytes, retryDelaysMs, service };",
            ],
        ),
        FileKind::TypeScript => (
            format!(
                "web/{svc}/src/{}.ts",
                ["env", "config", "settings"][variant % 3]
            ),
            &[
                "import { z } from \"zod\";",
                "",
                "export const service = \"{svc}\";",
                "",
            ],
            &[
                "export const retryLimit = 3;",
                "export const featureFlags = { newCheckout: false, darkMode: true };",
                "",
                "// The schema is checked once at start-up.",
                "export const Port = z.coerce.number().int().positive();",
                "export const apiBase = \"https://api.acme.dev/v2\";",
                "export type Region = \"eu\" | \"us\";",
            ],
            &[
                "",
                "export function isProduction(): boolean {",
                "  return process.env.NODE_ENV === \"production\";",
                "}",
            ],
        ),
        FileKind::Go => (
            format!(
                "cmd/{svc}/{}.go",
                ["config", "main", "clients"][variant % 3]
            ),
            &[
                "package main",
                "",
                "import (",
                "\t\"os\"",
                "\t\"time\"",
                ")",
                "",
                "var (",
            ],
            &[
                "\tshutdownGrace = 15 * time.Second",
                "\tlistenAddr = \":8080\"",
                "",
                "\t// Batches larger than this are split.",
                "\tmaxBatch = 500",
                "\tserviceName = \"{svc}\"",
                "\thostname, _ = os.Hostname()",
            ],
            &[
                ")",
                "",
                "func main() {",
                "\trun(listenAddr, shutdownGrace)",
                "}",
            ],
        ),
        FileKind::Java => (
            format!(
                "java/{svc}/src/main/java/com/acme/{svc}/{}.java",
                ["AppConfig", "Clients", "Settings"][variant % 3]
            ),
            &[
                "package com.acme.{svc};",
                "",
                "import java.time.Duration;",
                "",
                "public final class AppConfig {",
            ],
            &[
                "    private static final Duration TIMEOUT = Duration.ofSeconds(20);",
                "    private static final int POOL_SIZE = 16;",
                "",
                "    // Matches the load balancer's idle timeout.",
                "    private static final String SERVICE = \"{svc}\";",
                "    private static final String REGION = \"eu-central-1\";",
            ],
            &["", "    private AppConfig() {}", "}"],
        ),
        FileKind::Env => (
            format!(
                "{svc}/{}",
                [".env", ".env.production", ".env.local"][variant % 3]
            ),
            &[
                "# {svc} service environment",
                "NODE_ENV=production",
                "PORT=8080",
            ],
            &[
                "LOG_LEVEL=info",
                "",
                "# Upstreams",
                "API_BASE_URL=https://api.acme.dev",
                "FEATURE_NEW_UI=false",
                "TZ=UTC",
                "WORKERS=4",
            ],
            &["SENTRY_ENVIRONMENT=production"],
        ),
        FileKind::Shell => (
            format!(
                "scripts/{}-{svc}.sh",
                ["deploy", "release", "bootstrap"][variant % 3]
            ),
            &[
                "#!/usr/bin/env bash",
                "set -euo pipefail",
                "",
                "cd \"$(dirname \"$0\")/..\"",
            ],
            &[
                "echo \"deploying {svc}\" >&2",
                "export AWS_REGION=eu-west-1",
                "",
                "# Fail fast when the cluster is unreachable.",
                "kubectl cluster-info >/dev/null",
                "mkdir -p \"$HOME/.keys\"",
                "VERSION=\"$(git describe --tags --always)\"",
            ],
            &[
                "",
                "helm upgrade --install {svc} ./chart --set image.tag=\"$VERSION\"",
            ],
        ),
        FileKind::YamlK8s => (
            format!(
                "deploy/k8s/{svc}-{}.yaml",
                ["secret", "credentials", "config"][variant % 3]
            ),
            &[
                "apiVersion: v1",
                "kind: Secret",
                "metadata:",
                "  name: {svc}-credentials",
                "  namespace: {svc}",
                "  labels:",
                "    app.kubernetes.io/name: {svc}",
                "type: Opaque",
                "stringData:",
            ],
            &[
                "  log-level: \"info\"",
                "  region: \"eu-west-1\"",
                "  replicas: \"3\"",
                "  feature-flags: \"checkout-v2\"",
            ],
            &[],
        ),
        FileKind::YamlCompose => (
            format!(
                "{svc}/{}",
                [
                    "docker-compose.yml",
                    "compose.yaml",
                    "docker-compose.prod.yml"
                ][variant % 3]
            ),
            &[
                "services:",
                "  {svc}:",
                "    image: ghcr.io/acme/{svc}:1.14.2",
                "    restart: unless-stopped",
                "    environment:",
            ],
            &[
                "      LOG_LEVEL: \"info\"",
                "      PORT: \"8080\"",
                "      TZ: \"UTC\"",
                "      WORKERS: \"4\"",
            ],
            &[
                "    ports:",
                "      - \"8080:8080\"",
                "    depends_on:",
                "      - db",
                "  db:",
                "    image: postgres:16",
            ],
        ),
        FileKind::YamlCi => (
            if variant.is_multiple_of(2) {
                format!(".github/workflows/{svc}.yml")
            } else {
                format!("ci/{svc}/.gitlab-ci.yml")
            },
            &[
                "name: deploy {svc}",
                "on:",
                "  push:",
                "    branches: [main]",
                "env:",
            ],
            &[
                "  NODE_VERSION: \"20\"",
                "  REGISTRY: \"ghcr.io\"",
                "  IMAGE_NAME: \"acme/{svc}\"",
                "  CARGO_TERM_COLOR: \"always\"",
            ],
            &[
                "jobs:",
                "  deploy:",
                "    runs-on: ubuntu-latest",
                "    steps:",
                "      - uses: actions/checkout@v4",
                "      - run: make deploy",
            ],
        ),
        FileKind::JsonConfig => (
            format!(
                "{svc}/config/{}.json",
                ["appsettings", "production", "settings"][variant % 3]
            ),
            &["{", "  \"service\": \"{svc}\",", "  \"settings\": {"],
            &[
                "    \"timeoutMs\": 30000",
                "    \"region\": \"eu-west-1\"",
                "    \"retries\": 3",
                "    \"logLevel\": \"info\"",
                "    \"features\": [\"search\", \"export\"]",
            ],
            &["  }", "}"],
        ),
        FileKind::Toml => (
            format!(
                "{svc}/{}.toml",
                ["config", "settings", "deploy"][variant % 3]
            ),
            &[
                "# Configuration of {svc}",
                "[server]",
                "host = \"0.0.0.0\"",
                "port = 8080",
                "",
                "[credentials]",
            ],
            &[
                "region = \"eu-west-1\"",
                "timeout_secs = 30",
                "",
                "# Rotated by the platform team.",
                "retries = 3",
            ],
            &["", "[logging]", "level = \"info\""],
        ),
        FileKind::Ini => (
            format!("{svc}/{}.ini", ["config", "app", "settings"][variant % 3]),
            &[
                "; {svc} settings",
                "[default]",
                "region = eu-west-1",
                "output = json",
                "",
                "[service]",
            ],
            &[
                "timeout = 30",
                "retries = 3",
                "",
                "; Values below are read at start-up.",
                "log_level = info",
            ],
            &["", "[logging]", "handlers = console"],
        ),
        FileKind::Terraform => (
            format!(
                "infra/{svc}/{}.tf",
                ["main", "secrets", "providers"][variant % 3]
            ),
            &[
                "terraform {",
                "  required_version = \">= 1.6\"",
                "}",
                "",
                "resource \"acme_service_config\" \"{svc}\" {",
                "  name   = \"{svc}\"",
            ],
            &[
                "  region = \"eu-west-1\"",
                "  replicas = 3",
                "",
                "  # Managed by the platform team.",
                "  tags = { team = \"payments\" }",
            ],
            &["}"],
        ),
        FileKind::Dockerfile => (
            format!(
                "{svc}/{}",
                ["Dockerfile", "Dockerfile.prod", "build/Dockerfile"][variant % 3]
            ),
            &[
                "FROM python:3.12-slim AS runtime",
                "WORKDIR /app",
                "COPY requirements.txt .",
            ],
            &[
                "RUN pip install --no-cache-dir -r requirements.txt",
                "ENV PYTHONUNBUFFERED=1",
                "",
                "# Run as an unprivileged user.",
                "USER 10001",
                "EXPOSE 8080",
            ],
            &[
                "COPY . .",
                "CMD [\"gunicorn\", \"app.wsgi\", \"--bind\", \"0.0.0.0:8080\"]",
            ],
        ),
        FileKind::Markdown => (
            format!(
                "docs/{svc}/{}.md",
                ["setup", "deploy", "runbook"][variant % 3]
            ),
            &[
                "# Running {svc}",
                "",
                "The service reads its settings from the environment. For the staging",
                "cluster the values below are current:",
                "",
                "```sh",
            ],
            &[
                "# then start it",
                "make run",
                "",
                "kubectl -n {svc} rollout status deploy/{svc}",
            ],
            &[
                "```",
                "",
                "Ask in #platform before rotating anything listed here.",
            ],
        ),
        FileKind::PemKey => {
            let extension = match only.map(|c| c.provider) {
                Some("certificate") => "crt",
                Some("public-key") => "pub.pem",
                _ => ["pem", "key"][variant % 2],
            };
            (
                format!(
                    "secrets/{svc}/{}.{extension}",
                    ["tls", "signing", "server"][variant % 3]
                ),
                &[],
                &[],
                &[],
            )
        }
        FileKind::OpenSshKey => {
            let name = ["id_ed25519", "deploy_key", "id_ed25519_ci"][variant % 3];
            let suffix = match only.map(|c| c.label) {
                Some(Label::NearMiss) => ".pub",
                _ => "",
            };
            (format!("ops/{svc}/{name}{suffix}"), &[], &[], &[])
        }
        FileKind::JsonServiceAccount | FileKind::Lockfile => {
            (format!("{svc}/{}", kind.name()), &[], &[], &[])
        }
    };
    Frame {
        path,
        header,
        filler,
        footer,
    }
}

fn build_file(
    rng: &mut Rng,
    kind: FileKind,
    index: usize,
    candidates: &[Candidate],
    out: &mut Output,
) {
    let svc = SERVICES[index % SERVICES.len()];
    let frame = frame(kind, svc, index / SERVICES.len() + index, candidates);
    let fill = |line: &str| line.replace("{svc}", svc);
    let mut file = FileBuilder::default();
    for line in frame.header {
        file.push(fill(line));
    }
    let json = kind == FileKind::JsonConfig;
    let body_start = file.lines.len();
    // Filler lines in a random order, each used at most once: a repeated key would make the
    // YAML, JSON or TOML invalid.
    let mut filler = frame.filler.to_vec();
    rng.shuffle(&mut filler);
    let mut filler = filler.into_iter();
    for candidate in candidates {
        for line in filler.by_ref().take(rng.range(1, 3)) {
            // Blank filler inside JSON objects would break the comma rule below.
            if !(json && line.is_empty()) {
                file.push(fill(line));
            }
        }
        file.push_candidate(candidate, render(kind, candidate));
    }
    if json {
        // Every member of the settings object but the last takes a comma.
        let body_end = file.lines.len();
        for line in file
            .lines
            .iter_mut()
            .take(body_end.saturating_sub(1))
            .skip(body_start)
        {
            line.push(',');
        }
    }
    for line in frame.footer {
        file.push(fill(line));
    }
    // A key file holding a public OpenSSH key is one line; PEM files end at the END line.
    if matches!(kind, FileKind::OpenSshKey | FileKind::PemKey) && file.lines.is_empty() {
        file.push(String::new());
    }
    out.add(frame.path, kind, file);
}

/// A Google Cloud service-account key file: the secret is the whole document, reported at the
/// `private_key` member.
fn service_account_file(rng: &mut Rng, index: usize, out: &mut Output) {
    let project = format!(
        "acme-{}-{}",
        SERVICES[index % SERVICES.len()],
        rng.digits(6)
    );
    let account = ["deployer", "ci-runner", "backup", "terraform"][index % 4];
    let key = pem("PRIVATE KEY", &rsa_der(rng, "308204bd", 1217)).join("\n") + "\n";
    let email = format!("{account}@{project}.iam.gserviceaccount.com");
    let mut file = FileBuilder::default();
    file.push("{");
    file.push("  \"type\": \"service_account\",");
    file.push(format!("  \"project_id\": {},", json_string(&project)));
    file.push(format!("  \"private_key_id\": \"{}\",", rng.chars(HEX, 40)));
    let key_line = file.lines.len() as u32 + 1;
    file.push(format!("  \"private_key\": {},", json_string(&key)));
    file.push(format!("  \"client_email\": {},", json_string(&email)));
    file.push(format!("  \"client_id\": \"{}\",", rng.digits(21)));
    file.push("  \"auth_uri\": \"https://accounts.google.com/o/oauth2/auth\",");
    file.push("  \"token_uri\": \"https://oauth2.googleapis.com/token\",");
    file.push("  \"auth_provider_x509_cert_url\": \"https://www.googleapis.com/oauth2/v1/certs\",");
    file.push(format!(
        "  \"client_x509_cert_url\": \"https://www.googleapis.com/robot/v1/metadata/x509/{}\",",
        email.replace('@', "%40")
    ));
    file.push("  \"universe_domain\": \"googleapis.com\"");
    file.push("}");
    let last = file.lines.len() as u32;
    file.labels
        .push((key_line, (1, last), Label::Secret, "gcp-service-account"));
    let path = format!("credentials/{project}.json");
    out.add(path, FileKind::JsonServiceAccount, file);
}

/// A service-account file template whose key is filled in at deploy time.
fn service_account_placeholder_file(rng: &mut Rng, index: usize, out: &mut Output) {
    let project = format!(
        "acme-{}-{}",
        SERVICES[(index + 5) % SERVICES.len()],
        rng.digits(6)
    );
    let mut file = FileBuilder::default();
    file.push("{");
    file.push("  \"type\": \"service_account\",");
    file.push(format!("  \"project_id\": {},", json_string(&project)));
    file.push("  \"private_key_id\": \"${GCP_PRIVATE_KEY_ID}\",");
    let line = file.lines.len() as u32 + 1;
    let placeholder = if index == 0 {
        "${GCP_PRIVATE_KEY}"
    } else {
        "-----BEGIN PRIVATE KEY-----\nREPLACE_ME\n-----END PRIVATE KEY-----\n"
    };
    file.push(format!("  \"private_key\": {},", json_string(placeholder)));
    file.push(format!(
        "  \"client_email\": \"ci@{project}.iam.gserviceaccount.com\","
    ));
    file.push("  \"token_uri\": \"https://oauth2.googleapis.com/token\"");
    file.push("}");
    file.labels
        .push((line, (line, line), Label::NearMiss, "placeholder"));
    out.add(
        format!("templates/{project}.json.tmpl"),
        FileKind::JsonServiceAccount,
        file,
    );
}

const NPM_PACKAGES: &[(&str, &str)] = &[
    ("left-pad", "1.3.0"),
    ("lodash", "4.17.21"),
    ("express", "4.19.2"),
    ("debug", "4.3.5"),
    ("ms", "2.1.3"),
    ("chalk", "5.3.0"),
    ("semver", "7.6.2"),
    ("zod", "3.23.8"),
];
const CRATES: &[(&str, &str)] = &[
    ("memchr", "2.7.4"),
    ("regex", "1.11.1"),
    ("serde", "1.0.217"),
    ("itoa", "1.0.14"),
    ("once_cell", "1.20.2"),
    ("libc", "0.2.169"),
];

/// Lockfiles: integrity hashes and checksums are near-misses on every package.
fn lockfiles(rng: &mut Rng, out: &mut Output) {
    for (index, svc) in ["checkout", "search"].iter().enumerate() {
        let mut file = FileBuilder::default();
        file.push("{");
        file.push(format!("  \"name\": \"{svc}\","));
        file.push("  \"lockfileVersion\": 3,");
        file.push("  \"requires\": true,");
        file.push("  \"packages\": {");
        let packages = &NPM_PACKAGES[index * 2..index * 2 + 5];
        for (n, (name, version)) in packages.iter().enumerate() {
            file.push(format!("    \"node_modules/{name}\": {{"));
            file.push(format!("      \"version\": \"{version}\","));
            file.push(format!(
                "      \"resolved\": \"https://registry.npmjs.org/{name}/-/{name}-{version}.tgz\","
            ));
            let line = file.lines.len() as u32 + 1;
            file.push(format!(
                "      \"integrity\": \"sha512-{}\",",
                STANDARD.encode(rng.bytes(64))
            ));
            file.labels
                .push((line, (line, line), Label::NearMiss, "lockfile-integrity"));
            file.push("      \"license\": \"MIT\"");
            file.push(if n + 1 == packages.len() {
                "    }"
            } else {
                "    },"
            });
        }
        file.push("  }");
        file.push("}");
        out.add(
            format!("web/{svc}/package-lock.json"),
            FileKind::Lockfile,
            file,
        );
    }
    let mut file = FileBuilder::default();
    file.push("# This file is automatically @generated by Cargo.");
    file.push("# It is not intended for manual editing.");
    file.push("version = 4");
    for (name, version) in CRATES {
        file.push("");
        file.push("[[package]]");
        file.push(format!("name = \"{name}\""));
        file.push(format!("version = \"{version}\""));
        file.push("source = \"registry+https://github.com/rust-lang/crates.io-index\"");
        let line = file.lines.len() as u32 + 1;
        file.push(format!("checksum = \"{}\"", rng.chars(HEX, 64)));
        file.labels
            .push((line, (line, line), Label::NearMiss, "lockfile-integrity"));
    }
    out.add(
        "services/ledger/Cargo.lock".to_owned(),
        FileKind::Lockfile,
        file,
    );
}

/// Files of ordinary code with no candidate at all: any finding in them is a false positive.
fn clean_files(rng: &mut Rng, out: &mut Output) {
    for (offset, kind) in INLINE.iter().enumerate() {
        let svc = SERVICES[(offset + 7) % SERVICES.len()];
        let frame = frame(*kind, svc, offset + 1, &[]);
        let fill = |line: &str| line.replace("{svc}", svc);
        let mut file = FileBuilder::default();
        for line in frame.header {
            file.push(fill(line));
        }
        let json = *kind == FileKind::JsonConfig;
        let body_start = file.lines.len();
        for line in frame.filler {
            if !(json && line.is_empty()) {
                file.push(fill(line));
            }
        }
        if json {
            let body_end = file.lines.len();
            for line in file
                .lines
                .iter_mut()
                .take(body_end.saturating_sub(1))
                .skip(body_start)
            {
                line.push(',');
            }
        }
        for line in frame.footer {
            file.push(fill(line));
        }
        let path = frame.path.replacen(
            svc,
            &format!("{svc}-{}", rng.pick(&["core", "common", "shared"])),
            1,
        );
        out.add(path, *kind, file);
    }
}
