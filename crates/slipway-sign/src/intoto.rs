//! The in-toto attestation Statement v1 (in-toto/attestation `spec/v1/statement.md`): which
//! artifacts (subjects, by digest) a predicate speaks about.

use crate::Error;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The DSSE payload type of an in-toto statement.
pub const MEDIA_TYPE: &str = "application/vnd.in-toto+json";
/// The `_type` of a Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// An in-toto Statement v1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// Always [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// The artifacts the predicate is about; each has a digest.
    pub subject: Vec<ResourceDescriptor>,
    /// What kind of predicate follows, e.g. `https://slsa.dev/provenance/v1`.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The predicate itself.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub predicate: serde_json::Value,
}

/// An in-toto ResourceDescriptor: an artifact by name, URI and digests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDescriptor {
    /// A name for the artifact, e.g. its file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A URI identifying the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Digests by lowercase algorithm name (`sha256`, `sha512`, `gitCommit`, …), lowercase hex.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digest: BTreeMap<String, String>,
    /// Where the artifact can be downloaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_location: Option<String>,
    /// The artifact's media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ResourceDescriptor {
    /// A subject named `name` with its SHA-256 (lowercase hex).
    pub fn sha256(name: impl Into<String>, hex_digest: impl Into<String>) -> ResourceDescriptor {
        ResourceDescriptor {
            name: Some(name.into()),
            digest: BTreeMap::from([("sha256".to_string(), hex_digest.into())]),
            ..ResourceDescriptor::default()
        }
    }
}

impl Statement {
    /// A Statement v1 about `subject`.
    pub fn new(
        subject: Vec<ResourceDescriptor>,
        predicate_type: impl Into<String>,
        predicate: serde_json::Value,
    ) -> Statement {
        Statement {
            statement_type: STATEMENT_TYPE.to_string(),
            subject,
            predicate_type: predicate_type.into(),
            predicate,
        }
    }

    /// The statement as compact JSON: the bytes to put in a DSSE envelope.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising strings, maps and JSON values cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// True when a subject carries `sha256` equal to `hex_digest` (case-insensitive).
    pub fn has_sha256_subject(&self, hex_digest: &str) -> bool {
        self.subject.iter().any(|subject| {
            subject
                .digest
                .get("sha256")
                .is_some_and(|digest| digest.eq_ignore_ascii_case(hex_digest))
        })
    }
}

/// Parses and checks a Statement v1: the `_type`, a non-empty subject list in which every
/// subject has at least one digest with a hex value, a predicate type, and an object predicate.
pub fn parse_statement(json: &[u8]) -> Result<Statement, Error> {
    let statement: Statement = serde_json::from_slice(json)
        .map_err(|error| Error::malformed("in-toto statement", error.to_string()))?;
    let invalid = |message: String| Error::malformed("in-toto statement", message);
    if statement.statement_type != STATEMENT_TYPE {
        return Err(invalid(format!(
            "`_type` is `{}`, expected `{STATEMENT_TYPE}`",
            statement.statement_type
        )));
    }
    if statement.subject.is_empty() {
        return Err(invalid(
            "`subject` is empty; name at least one artifact".into(),
        ));
    }
    for (index, subject) in statement.subject.iter().enumerate() {
        if subject.digest.is_empty() {
            return Err(invalid(format!("subject {index} has no `digest`")));
        }
        for (algorithm, value) in &subject.digest {
            if algorithm.is_empty() || value.is_empty() {
                return Err(invalid(format!(
                    "subject {index} has an empty digest algorithm or value"
                )));
            }
            if let Some(expected) = hex_length(algorithm)
                && (value.len() != expected || !value.bytes().all(|byte| byte.is_ascii_hexdigit()))
            {
                return Err(invalid(format!(
                    "subject {index}: `{algorithm}` digest `{value}` is not {expected} hex digits"
                )));
            }
        }
    }
    if statement.predicate_type.is_empty() {
        return Err(invalid("`predicateType` is empty".into()));
    }
    if !(statement.predicate.is_object() || statement.predicate.is_null()) {
        return Err(invalid("`predicate` is not a JSON object".into()));
    }
    Ok(statement)
}

/// The hex length of the digest algorithms whose size is fixed.
fn hex_length(algorithm: &str) -> Option<usize> {
    match algorithm {
        "sha1" => Some(40),
        "sha224" | "sha512_224" => Some(56),
        "sha256" | "sha512_256" | "sha3_256" => Some(64),
        "sha384" | "sha3_384" => Some(96),
        "sha512" | "sha3_512" => Some(128),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DIGEST: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    #[test]
    fn statement_round_trips_with_the_spec_field_names() {
        let statement = Statement::new(
            vec![ResourceDescriptor::sha256("app.tar.gz", DIGEST)],
            "https://slsa.dev/provenance/v1",
            json!({"buildDefinition": {}}),
        );
        let json: serde_json::Value = serde_json::from_slice(&statement.to_json()).unwrap();
        assert_eq!(
            json,
            json!({
                "_type": "https://in-toto.io/Statement/v1",
                "subject": [{"name": "app.tar.gz", "digest": {"sha256": DIGEST}}],
                "predicateType": "https://slsa.dev/provenance/v1",
                "predicate": {"buildDefinition": {}}
            })
        );
        assert_eq!(parse_statement(&statement.to_json()).unwrap(), statement);
        assert!(statement.has_sha256_subject(&DIGEST.to_uppercase()));
    }

    #[test]
    fn checks_type_subjects_and_digests() {
        let cases = [
            (
                json!({"_type": "https://in-toto.io/Statement/v0.1", "subject": [{"digest": {"sha256": DIGEST}}], "predicateType": "p"}),
                "`_type`",
            ),
            (
                json!({"_type": STATEMENT_TYPE, "subject": [], "predicateType": "p"}),
                "`subject` is empty",
            ),
            (
                json!({"_type": STATEMENT_TYPE, "subject": [{"name": "x"}], "predicateType": "p"}),
                "subject 0 has no `digest`",
            ),
            (
                json!({"_type": STATEMENT_TYPE, "subject": [{"digest": {"sha256": "abc"}}], "predicateType": "p"}),
                "64 hex digits",
            ),
            (
                json!({"_type": STATEMENT_TYPE, "subject": [{"digest": {"sha256": DIGEST}}], "predicateType": ""}),
                "`predicateType` is empty",
            ),
            (
                json!({"_type": STATEMENT_TYPE, "subject": [{"digest": {"sha256": DIGEST}}], "predicateType": "p", "predicate": []}),
                "not a JSON object",
            ),
            (
                json!({"subject": [{"digest": {"sha256": DIGEST}}], "predicateType": "p"}),
                "missing field `_type`",
            ),
        ];
        for (value, expected) in cases {
            let error = parse_statement(value.to_string().as_bytes()).unwrap_err();
            assert!(error.to_string().contains(expected), "{error} / {expected}");
        }
    }
}
