//! Secret scanning for Slipway.
//!
//! Rules are data (`rules.toml`, embedded): each has a kebab-case id, a regex, the capture
//! group holding the secret, an optional Shannon-entropy threshold, lowercase keywords and an
//! optional allowlist. One Aho-Corasick automaton over every keyword runs once per file; a
//! rule's regex runs only over a bounded window around its keywords' hits. Findings carry a
//! redacted excerpt (at most four characters of the secret) and a fingerprint (SHA-256 of
//! rule, file and secret) that allowlists name.
//!
//! ```
//! use slipway_secretscan::Scanner;
//!
//! let scanner = Scanner::builtin();
//! // Split so that this file itself does not hold a token-shaped string.
//! let token = concat!("glpat-", "Zq3vR8tY1uI5oP9aS2dF");
//! let findings = scanner.scan_bytes("config.env", format!("GITLAB_TOKEN={token}\n").as_bytes());
//! assert_eq!(findings[0].rule, "gitlab-pat");
//! assert_eq!(findings[0].excerpt, "GITLAB_TOKEN=glpa…(26 chars)");
//! ```

mod allowlist;
mod engine;
mod error;
mod filter;
mod git;
mod paths;
mod report;
mod rules;
mod scanner;
mod walk;

pub use allowlist::{Allowlist, DEFAULT_ALLOWLIST_PATH};
pub use engine::fingerprint;
pub use error::Error;
pub use filter::shannon_entropy;
pub use report::{AllowedBy, AllowedFinding, Finding, Report, Skipped};
pub use rules::{BUILTIN_RULES, Checksum, Rule, Severity};
pub use scanner::{DEFAULT_GIT_TIMEOUT, DEFAULT_MAX_FILE_SIZE, ScanOptions, Scanner};
