//! Rules are data: `rules.toml` (embedded) is read into [`Rule`]s, and all their keywords go
//! into one Aho-Corasick automaton, the prefilter that decides which regexes run where.

use crate::error::Error;
use crate::paths::PathMatcher;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::bytes::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The embedded rules file.
pub const BUILTIN_RULES: &str = include_str!("rules.toml");
/// How the embedded rules file is named in errors.
const BUILTIN_NAME: &str = "<builtin>/rules.toml";

/// Provider regexes with long bounded repetitions compile to large programs; the default
/// limit (10 MiB) is too small for a few of them.
const REGEX_SIZE_LIMIT: usize = 64 << 20;
/// The lazy DFA's cache per regex; larger means fewer cache resets on long windows.
const DFA_SIZE_LIMIT: usize = 16 << 20;
/// A window never reaches further than this many lines below the keyword's line.
const MAX_SPAN_LINES: usize = 1000;

/// `{operator}` in a rule's regex: what joins a key name to its value in code and
/// configuration. A closing quote or bracket of the key; then `=`, `:`, `:=`, `=>`, `,` (call
/// arguments), or a type annotation before `=` (`: &'static str =`, `: string =`, Go's
/// `name string =`); then an optional constructor around the value (`String::from(`).
const OPERATOR: &str = r#"(?:["'`]|\])?(?:\s*(?::\s*&?(?:'static\s+)?[A-Za-z_][\w:.<>\[\]]*\??\s*=|:=|=>|=|:|,)|\s+(?:string|String|str|&str|\[\]byte)\s*=)\s*(?:String::from\(|new\s+String\(|String\(|Some\()?"#;
/// `{assign}`: [`OPERATOR`] and an optional opening quote of the value.
const ASSIGN_SUFFIX: &str = r#"["'`]?"#;

/// Expands `{operator}` and `{assign}` in a rule's regex.
fn expand(pattern: &str) -> String {
    pattern
        .replace("{assign}", &format!("{OPERATOR}{ASSIGN_SUFFIX}"))
        .replace("{operator}", OPERATOR)
}

/// A check the secret's own format carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Checksum {
    /// GitHub and npm tokens: `<prefix>_` + 30 characters + the base62 CRC32 of those 30,
    /// zero-padded to six characters.
    Crc32Base62,
}

impl Checksum {
    /// Whether `secret` carries a valid checksum. Secrets of another length than the format's
    /// (older or longer token kinds) are not checked.
    pub fn verify(self, secret: &[u8]) -> bool {
        match self {
            Checksum::Crc32Base62 => {
                const PREFIX: usize = 4;
                const BODY: usize = 30;
                const CHECK: usize = 6;
                if secret.len() != PREFIX + BODY + CHECK {
                    return true;
                }
                let (Some(body), Some(check)) = (
                    secret.get(PREFIX..PREFIX + BODY),
                    secret.get(PREFIX + BODY..),
                ) else {
                    return false;
                };
                base62_padded(crc32fast::hash(body), CHECK).as_bytes() == check
            }
        }
    }
}

/// `value` in base62 (`0-9A-Za-z`), left-padded with `0` to `width`.
fn base62_padded(mut value: u32, width: usize) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut digits = Vec::with_capacity(width);
    while value > 0 {
        digits.push(ALPHABET[(value % 62) as usize]);
        value /= 62;
    }
    while digits.len() < width {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8_lossy(&digits).into_owned()
}

/// How bad a leak of the rule's secret is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Grants broad control: cloud root credentials, private keys.
    Critical,
    /// A live credential for a service.
    High,
    /// A credential found by context or by a generic pattern.
    Medium,
    /// Sensitive but limited, e.g. keys meant for client-side use.
    Low,
}

impl Severity {
    /// The lowercase name, as written in rules files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One detection rule: a keyword-gated regex whose secret group must pass an entropy
/// threshold and the rule's allowlist.
pub struct Rule {
    /// Stable kebab-case id: SARIF rule ids, fingerprints and allowlists refer to it.
    pub id: String,
    /// What the rule finds, for people.
    pub description: String,
    /// How bad a finding of this rule is.
    pub severity: Severity,
    /// Lowercase keywords; the regex only runs near one of them.
    pub keywords: Vec<String>,
    /// Minimum Shannon entropy (bits per byte) of the secret.
    pub entropy: Option<f32>,
    /// A generic rule (key-name assignments and the like): it yields to a provider rule at the
    /// same place and its secrets go through the stricter placeholder filter.
    pub generic: bool,
    pattern: String,
    secret_group: Option<usize>,
    span_lines: usize,
    checksum: Option<Checksum>,
    stopwords: Vec<String>,
    allow_patterns: Vec<String>,
    path_globs: Vec<String>,
    paths: Option<PathMatcher>,
    regex: OnceLock<Option<Regex>>,
    allow_regexes: OnceLock<Vec<Regex>>,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule")
            .field("id", &self.id)
            .field("severity", &self.severity)
            .field("keywords", &self.keywords)
            .field("regex", &self.pattern)
            .finish_non_exhaustive()
    }
}

impl Rule {
    /// The regex source, as compiled (`{assign}` and `{operator}` expanded).
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The capture group that holds the secret; `None` means the first group that took part
    /// in the match, or the whole match when the regex has no groups.
    pub fn secret_group(&self) -> Option<usize> {
        self.secret_group
    }

    /// The globs the rule is limited to (empty: every file).
    pub fn path_globs(&self) -> &[String] {
        &self.path_globs
    }

    /// How many lines below the keyword's line the regex may reach (multi-line secrets).
    pub fn span_lines(&self) -> usize {
        self.span_lines
    }

    /// The checksum the secret's format carries, if any.
    pub fn checksum(&self) -> Option<Checksum> {
        self.checksum
    }

    /// Whether the rule applies to `file` (relative, `/`-separated).
    pub(crate) fn applies_to(&self, file: &str) -> bool {
        self.paths.as_ref().is_none_or(|paths| paths.is_match(file))
    }

    /// The compiled regex, built on first use. `None` only for a rule that failed to
    /// compile, which [`RuleSet::parse`] rejects up front, so in practice never.
    pub(crate) fn regex(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| compile(&self.pattern).ok())
            .as_ref()
    }

    /// Whether the rule's own allowlist excuses `secret`.
    pub(crate) fn allows(&self, secret: &[u8]) -> bool {
        if !self.stopwords.is_empty() {
            let lower = secret.to_ascii_lowercase();
            if self
                .stopwords
                .iter()
                .any(|word| memchr::memmem::find(&lower, word.as_bytes()).is_some())
            {
                return true;
            }
        }
        self.allow_regexes
            .get_or_init(|| {
                self.allow_patterns
                    .iter()
                    .filter_map(|pattern| compile(pattern).ok())
                    .collect()
            })
            .iter()
            .any(|regex| regex.is_match(secret))
    }
}

fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    // ASCII semantics (`\w`, `\b`, `(?i)`) on raw bytes: non-UTF-8 files scan too, and the
    // lazy DFA never has to give up on a Unicode word boundary.
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(DFA_SIZE_LIMIT)
        .build()
}

/// The rules with their shared keyword automaton.
pub(crate) struct RuleSet {
    pub(crate) rules: Vec<Rule>,
    pub(crate) automaton: AhoCorasick,
    /// For each automaton pattern, the rules that listed it as a keyword.
    pub(crate) keyword_rules: Vec<Vec<usize>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawRule {
    id: toml::Spanned<String>,
    description: String,
    regex: toml::Spanned<String>,
    #[serde(default)]
    secret_group: Option<usize>,
    #[serde(default)]
    entropy: Option<f32>,
    keywords: toml::Spanned<Vec<String>>,
    severity: Severity,
    #[serde(default)]
    generic: bool,
    #[serde(default)]
    span_lines: usize,
    #[serde(default)]
    checksum: Option<Checksum>,
    #[serde(default)]
    allowlist: Option<RawRuleAllowlist>,
    #[serde(default)]
    paths: Option<toml::Spanned<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuleAllowlist {
    #[serde(default)]
    regexes: Vec<toml::Spanned<String>>,
    #[serde(default)]
    stopwords: Vec<String>,
}

impl RuleSet {
    /// The embedded rules, parsed once per process; their regexes compile on first use.
    pub(crate) fn builtin() -> &'static RuleSet {
        static BUILTIN: OnceLock<RuleSet> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            // The embedded file is checked by this crate's tests (every rule parses and
            // compiles), so a failure here is a build defect, not bad input.
            #[allow(clippy::expect_used)]
            RuleSet::read(Path::new(BUILTIN_NAME), BUILTIN_RULES, false)
                .expect("the embedded rules.toml is valid")
        })
    }

    /// Parses and fully validates a rules file: every regex (and allowlist regex) compiles.
    pub(crate) fn parse(file: &Path, text: &str) -> Result<RuleSet, Error> {
        Self::read(file, text, true)
    }

    /// Reads a rules file; with `validate`, compiles every regex now (and reports the ones
    /// that do not compile) instead of on first use.
    fn read(file: &Path, text: &str, validate: bool) -> Result<RuleSet, Error> {
        let at = |span: std::ops::Range<usize>, message: String| {
            let (line, column) = line_column(text, span.start);
            Error::Rules {
                file: file.to_path_buf(),
                line,
                column,
                message,
            }
        };
        let raw: RawRules = toml::from_str(text).map_err(|error| {
            at(
                error.span().unwrap_or(0..0),
                error.message().trim().to_string(),
            )
        })?;
        let mut seen = HashSet::new();
        let mut rules = Vec::with_capacity(raw.rules.len());
        for raw in raw.rules {
            let id = raw.id.get_ref().clone();
            if !is_kebab_case(&id) {
                return Err(at(
                    raw.id.span(),
                    format!(
                        "rule id {id:?} is not kebab-case; write lowercase words joined by `-`"
                    ),
                ));
            }
            if !seen.insert(id.clone()) {
                return Err(at(
                    raw.id.span(),
                    format!("duplicate rule id {id:?}; every id must be unique"),
                ));
            }
            let pattern = expand(raw.regex.get_ref());
            let regex = OnceLock::new();
            if validate {
                let compiled = compile(&pattern).map_err(|error| {
                    at(
                        raw.regex.span(),
                        format!("rule {id:?}: the regex does not compile: {error}"),
                    )
                })?;
                if let Some(group) = raw.secret_group
                    && group >= compiled.captures_len()
                {
                    return Err(at(
                        raw.regex.span(),
                        format!(
                            "rule {id:?}: secret-group {group} does not exist (the regex has {} groups)",
                            compiled.captures_len() - 1
                        ),
                    ));
                }
                let _ = regex.set(Some(compiled));
            }
            let keywords = raw.keywords.get_ref();
            if keywords.is_empty()
                || keywords
                    .iter()
                    .any(|k| k.is_empty() || k.to_ascii_lowercase() != *k)
            {
                return Err(at(
                    raw.keywords.span(),
                    format!(
                        "rule {id:?}: keywords must be a non-empty list of lowercase, non-empty strings"
                    ),
                ));
            }
            let (stopwords, allow_patterns) = match raw.allowlist {
                Some(allowlist) => {
                    let mut patterns = Vec::new();
                    for pattern in allowlist.regexes {
                        if validate {
                            compile(pattern.get_ref()).map_err(|error| {
                                at(
                                    pattern.span(),
                                    format!(
                                        "rule {id:?}: an allowlist regex does not compile: {error}"
                                    ),
                                )
                            })?;
                        }
                        patterns.push(pattern.into_inner());
                    }
                    let stopwords = allowlist
                        .stopwords
                        .into_iter()
                        .map(|word| word.to_ascii_lowercase())
                        .collect();
                    (stopwords, patterns)
                }
                None => (Vec::new(), Vec::new()),
            };
            let (path_globs, paths) = match raw.paths {
                Some(globs) => {
                    let span = globs.span();
                    let globs = globs.into_inner();
                    let matcher = PathMatcher::new(&globs)
                        .map_err(|message| at(span, format!("rule {id:?}: {message}")))?;
                    (globs, Some(matcher))
                }
                None => (Vec::new(), None),
            };
            rules.push(Rule {
                id,
                description: raw.description,
                severity: raw.severity,
                keywords: keywords.clone(),
                entropy: raw.entropy,
                generic: raw.generic,
                pattern,
                secret_group: raw.secret_group,
                span_lines: raw.span_lines.min(MAX_SPAN_LINES),
                checksum: raw.checksum,
                stopwords,
                allow_patterns,
                path_globs,
                paths,
                regex,
                allow_regexes: OnceLock::new(),
            });
        }
        Self::assemble(rules, file)
    }

    fn assemble(rules: Vec<Rule>, file: &Path) -> Result<RuleSet, Error> {
        let mut keyword_index: HashMap<&str, usize> = HashMap::new();
        let mut keywords: Vec<&str> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        for (rule_index, rule) in rules.iter().enumerate() {
            for keyword in &rule.keywords {
                let index = *keyword_index.entry(keyword.as_str()).or_insert_with(|| {
                    keywords.push(keyword.as_str());
                    keyword_rules.push(Vec::new());
                    keywords.len() - 1
                });
                if let Some(list) = keyword_rules.get_mut(index)
                    && !list.contains(&rule_index)
                {
                    list.push(rule_index);
                }
            }
        }
        // A full DFA: every file's every byte goes through it, and a few hundred short
        // keywords keep it small (tens of KiB); the NFA kinds are several times slower here.
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&keywords)
            .map_err(|error| Error::Rules {
                file: PathBuf::from(file),
                line: 1,
                column: 1,
                message: format!("the keyword automaton could not be built: {error}"),
            })?;
        Ok(RuleSet {
            rules,
            automaton,
            keyword_rules,
        })
    }
}

/// Lowercase ASCII letters and digits in words joined by single `-`.
fn is_kebab_case(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_case_ids() {
        assert!(is_kebab_case("aws-access-key-id"));
        assert!(is_kebab_case("gcp-api-key"));
        assert!(!is_kebab_case("AWS"));
        assert!(!is_kebab_case("a--b"));
        assert!(!is_kebab_case("-a"));
        assert!(!is_kebab_case("a_b"));
        assert!(!is_kebab_case(""));
    }

    #[test]
    fn rule_errors_are_located() {
        let text = "[[rules]]\nid = \"ok-rule\"\ndescription = \"d\"\nregex = '''(unclosed'''\nkeywords = [\"x\"]\nseverity = \"high\"\n";
        let error = RuleSet::parse(Path::new("r.toml"), text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.starts_with("r.toml:4:9: rule \"ok-rule\": the regex does not compile"),
            "{error}"
        );
    }

    #[test]
    fn duplicate_ids_and_bad_keywords_are_refused() {
        let rule = |id: &str, keyword: &str| {
            format!(
                "[[rules]]\nid = \"{id}\"\ndescription = \"d\"\nregex = 'x'\nkeywords = [\"{keyword}\"]\nseverity = \"low\"\n"
            )
        };
        let duplicate = format!("{}{}", rule("a-b", "x"), rule("a-b", "y"));
        let error = RuleSet::parse(Path::new("r.toml"), &duplicate)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.starts_with("r.toml:8:6: duplicate rule id"),
            "{error}"
        );
        let uppercase = rule("a-b", "X");
        let error = RuleSet::parse(Path::new("r.toml"), &uppercase)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("lowercase"), "{error}");
        let unknown_key = "[[rules]]\nid = \"a\"\ndescription = \"d\"\nregex = 'x'\nkeywords = [\"x\"]\nseverity = \"low\"\nentropyy = 3\n";
        let error = RuleSet::parse(Path::new("r.toml"), unknown_key)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.starts_with("r.toml:7:1:"), "{error}");
    }

    #[test]
    fn crc32_base62_checksum() {
        // crc32("") is 0: the check is six zeros.
        assert_eq!(base62_padded(0, 6), "000000");
        assert_eq!(base62_padded(61, 2), "0z");
        assert_eq!(base62_padded(62, 2), "10");
        // The largest CRC32 still fits six base62 digits (62^6 > 2^32).
        assert_eq!(base62_padded(u32::MAX, 6).len(), 6);
        let body = b"abcdefghijklmnopqrstuvwxyz0123";
        // Expected value from Python: zlib.crc32 of the body, base62-encoded, zero-padded.
        let check = base62_padded(crc32fast::hash(body), 6);
        assert_eq!(check, "2LolCm");
        let token = format!("ghp_{}{check}", String::from_utf8_lossy(body));
        assert!(Checksum::Crc32Base62.verify(token.as_bytes()));
        let wrong = format!("ghp_{}2LolCn", String::from_utf8_lossy(body));
        assert!(!Checksum::Crc32Base62.verify(wrong.as_bytes()));
    }

    #[test]
    fn builtin_rules_parse() {
        let set = RuleSet::builtin();
        assert!(set.rules.len() >= 100, "{} rules", set.rules.len());
    }
}
