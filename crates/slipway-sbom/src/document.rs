//! What a document says about itself: its subject, time and tool, and the content-derived
//! identifier that keeps regeneration byte-identical.

use crate::Error;
use sha2::{Digest, Sha256};

/// The document-level facts the caller supplies. Nothing here is read from the clock or
/// the environment, so the same inputs always render the same bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentInfo {
    /// What the SBOM describes (a repository or artifact name).
    pub subject_name: String,
    /// Its version (a release number or a commit).
    pub subject_version: Option<String>,
    /// The SHA-256 of the artifact, when the SBOM describes one.
    pub subject_sha256: Option<Sha256Digest>,
    /// When the described thing was made (the commit time, for reproducibility).
    pub timestamp: Timestamp,
    /// The version of the tool writing the document.
    pub tool_version: String,
}

impl DocumentInfo {
    /// `name@version`, or the bare name: the subject's CycloneDX `bom-ref`.
    pub(crate) fn subject_ref(&self) -> String {
        match &self.subject_version {
            Some(version) => format!("{}@{version}", self.subject_name),
            None => self.subject_name.clone(),
        }
    }
}

/// An instant, normalised to UTC with whole seconds (`2025-01-01T10:04:31Z`), the form both
/// CycloneDX and SPDX accept.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(String);

impl Timestamp {
    /// Reads an RFC 3339 date-time (any offset; fractions of a second are dropped).
    pub fn parse_rfc3339(value: &str) -> Result<Self, Error> {
        let parsed =
            chrono::DateTime::parse_from_rfc3339(value.trim()).map_err(|error| Error::Setting {
                what: "timestamp",
                value: value.to_string(),
                reason: error.to_string(),
                hint: "use RFC 3339, e.g. 2025-01-01T10:04:31Z",
            })?;
        Ok(Timestamp(
            parsed.to_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ))
    }

    /// The instant `seconds` after 1970-01-01T00:00:00Z (`SOURCE_DATE_EPOCH`); `None` outside
    /// the years 0000 to 9999, which RFC 3339 cannot write.
    pub fn from_unix_seconds(seconds: i64) -> Option<Self> {
        use chrono::Datelike as _;
        let instant = chrono::DateTime::from_timestamp(seconds, 0)?;
        (0..=9999)
            .contains(&instant.year())
            .then(|| Timestamp(instant.format("%Y-%m-%dT%H:%M:%SZ").to_string()))
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A SHA-256 digest as 64 lowercase hex digits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sha256Digest(String);

impl Sha256Digest {
    /// Reads 64 hex digits, with or without a `sha256:` prefix.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let hex = value.trim();
        let hex = hex.strip_prefix("sha256:").unwrap_or(hex);
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Sha256Digest(hex.to_ascii_lowercase()))
        } else {
            Err(Error::Setting {
                what: "SHA-256 digest",
                value: value.to_string(),
                reason: "not 64 hexadecimal digits".into(),
                hint: "give the digest as sha256:<64 hex digits>",
            })
        }
    }

    /// The lowercase hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A UUID derived from `content`: the first 16 bytes of its SHA-256 with the RFC 9562
/// version 8 (custom) and variant bits set, in lowercase hyphenated form.
pub(crate) fn content_uuid(content: &[u8]) -> String {
    let digest = Sha256::digest(content);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_normalise_to_utc_seconds() {
        let t = Timestamp::parse_rfc3339("2025-01-01T12:04:31.250+02:00").unwrap();
        assert_eq!(t.as_str(), "2025-01-01T10:04:31Z");
        let error = Timestamp::parse_rfc3339("yesterday").unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("invalid timestamp `yesterday`"),
            "{error}"
        );
        assert_eq!(
            Timestamp::from_unix_seconds(0).unwrap().as_str(),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn digests_are_checked() {
        let hex = "5891B5B522D5DF086D0FF0B110FBD9D21BB4FC7163AF34D08286A2E846F6BE03";
        assert_eq!(
            Sha256Digest::parse(&format!("sha256:{hex}"))
                .unwrap()
                .as_str(),
            hex.to_ascii_lowercase()
        );
        assert!(Sha256Digest::parse("abc").is_err());
    }

    #[test]
    fn content_uuids_are_stable_and_well_formed() {
        let uuid = content_uuid(b"hello");
        assert_eq!(uuid, content_uuid(b"hello"));
        assert_ne!(uuid, content_uuid(b"hello!"));
        assert_eq!(uuid.len(), 36);
        assert_eq!(uuid.as_bytes()[14], b'8', "version 8");
        assert!(
            matches!(uuid.as_bytes()[19], b'8' | b'9' | b'a' | b'b'),
            "RFC variant"
        );
    }
}
