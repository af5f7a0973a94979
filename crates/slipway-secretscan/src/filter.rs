//! What makes a match a secret rather than a placeholder: entropy, and the shapes that
//! documentation, templates and test fixtures use in place of real values.

/// Shannon entropy of `bytes` in bits per byte (0 for empty input).
pub fn shannon_entropy(bytes: &[u8]) -> f32 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    #[allow(clippy::cast_precision_loss)]
    let len = bytes.len() as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|&&count| count > 0)
        .map(|&count| {
            let p = f64::from(count) / len;
            -p * p.log2()
        })
        .sum();
    #[allow(clippy::cast_possible_truncation)]
    let entropy = entropy as f32;
    entropy
}

/// Markers of a value that is written to be replaced: templating, shell and environment
/// references, documentation placeholders. Checked for every rule.
const PLACEHOLDER_MARKERS: &[&str] = &[
    "example",
    "${",
    "{{",
    "}}",
    "$(",
    "%(",
    "#{",
    "<your",
    "your_",
    "your-",
    "yourtoken",
    "xxxxx",
    "*****",
    "placeholder",
    "redacted",
    "changeme",
    "change_me",
    "change-me",
];

/// Words that give a generic value away as a placeholder, a fixture or a reference to where
/// the real secret lives. Only generic rules check these: a provider token's random body
/// could contain a short word by chance, a generic one rarely is random.
const GENERIC_STOPWORDS: &[&str] = &[
    "sample",
    "dummy",
    "test",
    "fake",
    "mock",
    "secret",
    "password",
    "passwd",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "insert",
    "replace",
    "todo",
    "fixme",
    "null",
    "none",
    "undefined",
    "default",
    "localhost",
    "lorem",
    "foobar",
    "qwerty",
    "letmein",
    "hunter2",
    "abc123",
    "123456",
    "abcdef",
    "getenv",
    "environ",
    "process.env",
    "config.",
    "settings.",
    "vault:",
    "arn:aws",
    "ref+",
    "keyvault",
    "secretsmanager",
    "....",
    "----",
    "____",
    "not_set",
    "notset",
    "not-set",
    "unset",
    "required",
    "optional",
    "string",
    "value",
    "enter",
    "provide",
    "generate",
    "bearer",
];

/// Whether a secret is a placeholder by markers every rule respects: templating
/// (`${X}`, `{{ .Values.x }}`), `<your-token>`, `EXAMPLE`, runs of `x` or `*`, a single
/// repeated character, or an ascending sequence.
pub fn is_placeholder(secret: &[u8]) -> bool {
    let lower = secret.to_ascii_lowercase();
    if PLACEHOLDER_MARKERS
        .iter()
        .any(|marker| memchr::memmem::find(&lower, marker.as_bytes()).is_some())
    {
        return true;
    }
    if lower.first() == Some(&b'<') && lower.last() == Some(&b'>') {
        return true;
    }
    // Format strings and templates: `{token}`, `{0}`, `f"{secret}"`.
    if let Some(open) = memchr::memchr(b'{', &lower)
        && memchr::memchr(b'}', lower.get(open..).unwrap_or_default()).is_some()
    {
        return true;
    }
    is_one_repeated_char(&lower) || is_mostly_sequential(&lower)
}

/// Prefixes of keys that are public by design (publishable payment keys, client-side map
/// tokens): assigning one to a `key` name is not a leak.
const PUBLISHABLE_PREFIXES: &[&str] = &["pk_live_", "pk_test_", "pk.eyj", "flwpubk", "pub-"];

/// The stricter test for generic rules: on top of [`is_placeholder`], stopwords, UUIDs,
/// file paths, URLs, identifiers and variable references, hashes of other secrets, keys that
/// are public by design. `quoted` says whether the value stood in quotes: unquoted values in
/// code are usually expressions (`std::env::var(...)`, `config.get(...)`).
pub fn is_generic_placeholder(secret: &[u8], quoted: bool) -> bool {
    if is_placeholder(secret) {
        return true;
    }
    if !quoted
        && (secret.contains(&b'(')
            || secret.contains(&b')')
            || secret.contains(&b'<')
            || memchr::memmem::find(secret, b"::").is_some()
            || memchr::memmem::find(secret, b"->").is_some())
    {
        return true;
    }
    let lower = secret.to_ascii_lowercase();
    if PUBLISHABLE_PREFIXES
        .iter()
        .any(|prefix| lower.starts_with(prefix.as_bytes()))
    {
        return true;
    }
    if GENERIC_STOPWORDS
        .iter()
        .any(|word| memchr::memmem::find(&lower, word.as_bytes()).is_some())
    {
        return true;
    }
    let Some(&first) = secret.first() else {
        return true;
    };
    // Variable references and paths: `$DB_PASSWORD`, `%TOKEN%`, `@token`, `/run/secrets/x`,
    // `./key`, `~/.ssh/id`, `C:\...`.
    if matches!(
        first,
        b'$' | b'%' | b'@' | b'/' | b'~' | b'&' | b'*' | b'!' | b'#'
    ) || lower.starts_with(b"./")
        || lower.starts_with(b"../")
        || secret.contains(&b'\\')
        || lower.starts_with(b"http://")
        || lower.starts_with(b"https://")
        || lower.starts_with(b"file:")
    {
        return true;
    }
    // Password hashes are what is stored in place of a secret.
    if lower.starts_with(b"$2a$")
        || lower.starts_with(b"$2b$")
        || lower.starts_with(b"$argon2")
        || lower.starts_with(b"sha256:")
        || lower.starts_with(b"sha512-")
        || lower.starts_with(b"sha1-")
    {
        return true;
    }
    is_uuid(&lower)
        || is_kebab_words(secret)
        || is_relative_file_path(secret)
        || is_identifier_like(secret)
        || is_call_or_expression(secret)
        || lacks_variety(secret)
}

fn is_one_repeated_char(bytes: &[u8]) -> bool {
    bytes
        .first()
        .is_some_and(|&first| bytes.iter().all(|&b| b == first))
}

/// More than half of neighbouring pairs step by one (`abcdef`, `123456`, `fedcba`).
fn is_mostly_sequential(bytes: &[u8]) -> bool {
    if bytes.len() < 6 {
        return false;
    }
    let steps = bytes
        .windows(2)
        .filter(|pair| {
            let (a, b) = (i16::from(pair[0]), i16::from(pair[1]));
            (b - a).abs() == 1
        })
        .count();
    steps * 2 > bytes.len() - 1
}

/// `8-4-4-4-12` hex digits: an identifier, not a secret, for generic rules.
fn is_uuid(lower: &[u8]) -> bool {
    let groups = [8usize, 4, 4, 4, 12];
    let mut parts = lower.split(|&b| b == b'-');
    for expected in groups {
        match parts.next() {
            Some(part) if part.len() == expected && part.iter().all(u8::is_ascii_hexdigit) => {}
            _ => return false,
        }
    }
    parts.next().is_none()
}

/// Code, not a value: `config.db.password`, `self._token`, `API_TOKEN`, `db_password`,
/// `getPassword`. Dotted names count only without digits: `s3Cr.t9Qw` is a password.
fn is_identifier_like(secret: &[u8]) -> bool {
    let is_ident_byte = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let segments_are_identifiers = secret.split(|&b| b == b'.').all(|segment| {
        segment
            .first()
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
            && segment.iter().all(is_ident_byte)
    });
    let has_digit = secret.iter().any(u8::is_ascii_digit);
    if segments_are_identifiers && secret.contains(&b'.') && !has_digit {
        return true;
    }
    if !segments_are_identifiers {
        return false;
    }
    let all_upper = secret
        .iter()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_');
    let all_lower = secret
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_');
    // CONSTANT_NAMES and snake_case words are names; a random key would carry digits.
    (all_upper || all_lower) && secret.contains(&b'_') || !has_digit && is_camel_case_words(secret)
}

/// `gcp-service-account`, `cache-key`: lower-case words joined by hyphens name things; a
/// random value would carry digits or capitals.
fn is_kebab_words(secret: &[u8]) -> bool {
    secret.contains(&b'-') && secret.iter().all(|b| b.is_ascii_lowercase() || *b == b'-')
}

/// `config/app.env`, `keys/ci.pub`: a relative path ending in a file extension.
fn is_relative_file_path(secret: &[u8]) -> bool {
    let Some(slash) = secret.iter().rposition(|&b| b == b'/') else {
        return false;
    };
    let file = secret.get(slash + 1..).unwrap_or_default();
    let extension = file
        .iter()
        .rposition(|&b| b == b'.')
        .and_then(|dot| file.get(dot + 1..))
        .unwrap_or_default();
    (1..=5).contains(&extension.len())
        && extension.iter().all(u8::is_ascii_alphabetic)
        && secret
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-'))
}

/// `camelCaseWords` / `PascalCase`: letters only, upper case only at word starts.
fn is_camel_case_words(secret: &[u8]) -> bool {
    if !secret.iter().all(u8::is_ascii_alphabetic) {
        return false;
    }
    // Random letters switch case about every other character; words do not.
    let mut run_upper = 0usize;
    let mut switches = 0usize;
    for pair in secret.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if a.is_ascii_uppercase() && b.is_ascii_uppercase() {
            run_upper += 1;
        }
        if a.is_ascii_lowercase() && b.is_ascii_uppercase() {
            switches += 1;
        }
    }
    run_upper == 0 && switches * 4 <= secret.len()
}

/// `os.getenv("X")`, `ENV['X']`, `fetch(token)`, `lookup('x')`: a name, then a call or an
/// index running to the end.
fn is_call_or_expression(secret: &[u8]) -> bool {
    let name_end = secret
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':')))
        .unwrap_or(secret.len());
    let starts_with_name = secret
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
    let rest = secret.get(name_end..).unwrap_or_default();
    starts_with_name
        && name_end > 0
        && (rest.first() == Some(&b'(') && rest.last() == Some(&b')')
            || rest.first() == Some(&b'[') && rest.last() == Some(&b']'))
}

/// Real secrets mix character classes; `aaaa1111` or `abababab` do not.
fn lacks_variety(secret: &[u8]) -> bool {
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &b in secret {
        if !seen[usize::from(b)] {
            seen[usize::from(b)] = true;
            distinct += 1;
        }
    }
    distinct < 5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_known_strings() {
        assert!(shannon_entropy(b"").abs() < f32::EPSILON);
        assert!(shannon_entropy(b"aaaa").abs() < f32::EPSILON);
        assert!((shannon_entropy(b"ab") - 1.0).abs() < 1e-6);
        assert!((shannon_entropy(b"abcdefgh") - 3.0).abs() < 1e-6);
    }

    #[test]
    fn placeholders_every_rule_respects() {
        for value in [
            &b"AKIAIOSFODNN7EXAMPLE"[..],
            b"${GITHUB_TOKEN}",
            b"{{ .Values.token }}",
            b"<your-token>",
            b"xxxxxxxxxxxxxxxxxxxx",
            b"********",
            b"aaaaaaaaaaaaaaaa",
            b"abcdefghijklmnop",
            b"1234567890123456",
            b"pscale_pw_{url:43}",
            b"{token}",
        ] {
            assert!(is_placeholder(value), "{}", String::from_utf8_lossy(value));
        }
        assert!(!is_placeholder(b"q8Zr2LmX0vT4kW9pN3sB"));
    }

    #[test]
    fn names_paths_and_types_are_not_generic_secrets() {
        for value in [
            "gcp-service-account",
            "cache-key",
            "config/app.env",
            "keys/ci.pub",
        ] {
            assert!(is_generic_placeholder(value.as_bytes(), true), "{value}");
        }
        assert!(is_generic_placeholder(b"Option<Credentials>", false));
        for value in ["k8s-Hq7-xP2m", "s3cr3t/Qz9.x7Lm", "aB3dE5gH7jK9mN1p"] {
            assert!(!is_generic_placeholder(value.as_bytes(), true), "{value}");
        }
    }

    #[test]
    fn generic_placeholders() {
        for value in [
            &b"changeme"[..],
            b"password123",
            b"my-test-key-1",
            b"config.database.password",
            b"API_TOKEN_VALUE",
            b"db_password_here",
            b"$DB_PASSWORD",
            b"%TOKEN%",
            b"/run/secrets/db",
            b"os.getenv(\"X\")",
            b"123e4567-e89b-12d3-a456-426614174000",
            b"$2b$12$abcdefghijklmnopqrstuv",
            b"nextPageToken",
            b"aaaa1111",
        ] {
            assert!(
                is_generic_placeholder(value, true),
                "{}",
                String::from_utf8_lossy(value)
            );
        }
        for value in [
            &b"q8Zr2LmX0vT4kW9pN3sB"[..],
            b"Xk9#mP2$vL7q",
            b"s3Cr.t9Qw",
            b"Xk9(mP2)vL7q",
        ] {
            assert!(
                !is_generic_placeholder(value, true),
                "{}",
                String::from_utf8_lossy(value)
            );
        }
        assert!(is_generic_placeholder(b"std::env::var", false));
        assert!(is_generic_placeholder(b"Xk9(mP2)vL7q", false));
        assert!(is_generic_placeholder(
            b"pk_live_q8Zr2LmX0vT4kW9pN3sB",
            true
        ));
    }
}
