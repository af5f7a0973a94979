//! Entries, their canonical encoding and their hash.
//!
//! An entry's hash is the lowercase hex SHA-256 of the RFC 8785 (JCS) encoding of the object
//! `{seq, at, actor, action, subject, details, prev}`. For the values entries can hold, JCS
//! is byte for byte what Python writes with
//! `json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`, because
//! [`normalize_details`] keeps out the two things where they differ: numbers other than
//! integers within ±(2^53 − 1) (JCS writes every number as an IEEE double) and object keys
//! with characters beyond U+FFFF (JCS sorts keys by UTF-16 code units, Python by code points).

use crate::error::{AuditError, Result};
use chrono::{DateTime, SecondsFormat};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

/// The `prev` of entry 1: 64 zero hex digits.
pub const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The largest integer a JSON number keeps exactly everywhere (2^53 − 1).
pub const MAX_SAFE_INTEGER: i64 = 9_007_199_254_740_991;

/// Something that happened, before it has a place in the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Who did it: see [`crate::Actor::resolve`].
    pub actor: String,
    /// What happened, as dotted lowercase words: `run.finished`, `gates.evaluated`.
    pub action: String,
    /// What it happened to: a digest (`sha256:…`), a release id or a run id.
    pub subject: String,
    /// Everything else worth keeping, as a JSON object.
    pub details: Value,
}

impl Event {
    /// An event with the given fields.
    pub fn new(
        actor: impl Into<String>,
        action: impl Into<String>,
        subject: impl Into<String>,
        details: Value,
    ) -> Event {
        Event {
            actor: actor.into(),
            action: action.into(),
            subject: subject.into(),
            details,
        }
    }
}

/// One entry of the log, as stored and exported (one JSON object per line).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// 1-based, dense.
    pub seq: i64,
    /// Milliseconds since the Unix epoch, UTC; written as RFC 3339 with milliseconds
    /// (`2026-11-22T08:04:51.123Z`), the form that is hashed.
    #[serde(rename = "at", with = "rfc3339_millis")]
    pub at_ms: i64,
    /// Who did it.
    pub actor: String,
    /// What happened (`release.promoted`).
    pub action: String,
    /// What it happened to.
    pub subject: String,
    /// A JSON object (normalised by [`normalize_details`]).
    pub details: Value,
    /// The hash of the entry before ([`ZERO_HASH`] for entry 1).
    pub prev: String,
    /// This entry's hash: see [`entry_hash`].
    pub hash: String,
}

impl Entry {
    /// The entry that records `event` as number `seq` after an entry whose hash is `prev`:
    /// checks the event, normalises its details and computes the hash.
    pub fn chain(seq: i64, at_ms: i64, event: &Event, prev: &str) -> Result<Entry> {
        check_event(event)?;
        let details = normalize_details(event.details.clone())?;
        let mut entry = Entry {
            seq,
            at_ms,
            actor: event.actor.clone(),
            action: event.action.clone(),
            subject: event.subject.clone(),
            details,
            prev: prev.to_owned(),
            hash: String::new(),
        };
        entry.hash = entry_hash(&entry)?;
        Ok(entry)
    }

    /// The timestamp as it is hashed and exported.
    pub fn at(&self) -> Result<String> {
        format_millis(self.at_ms)
    }
}

/// The fields an entry's hash covers, in the shape that is canonicalised.
#[derive(Serialize)]
struct Hashed<'a> {
    seq: i64,
    at: &'a str,
    actor: &'a str,
    action: &'a str,
    subject: &'a str,
    details: &'a Value,
    prev: &'a str,
}

/// The canonical (RFC 8785) bytes an entry's hash is computed over.
///
/// For details that pass [`check_details`] (every entry Slipway writes) the encoding is written
/// directly: with only safe integers and keys within the Basic Multilingual Plane, JCS is
/// serde_json's compact form with object keys sorted by their UTF-8 bytes (the same order as
/// JCS's UTF-16 code units there), and serde_json escapes strings exactly as JCS does. Tests
/// hold this to `serde_json_canonicalizer` and to Python. Other details (only a damaged log
/// has them) go through `serde_json_canonicalizer` itself.
pub fn canonical_bytes(entry: &Entry) -> Result<Vec<u8>> {
    if check_details(&entry.details).is_ok() {
        return canonical_bytes_checked(entry);
    }
    let at = entry.at()?;
    let hashed = Hashed {
        seq: entry.seq,
        at: &at,
        actor: &entry.actor,
        action: &entry.action,
        subject: &entry.subject,
        details: &entry.details,
        prev: &entry.prev,
    };
    Ok(serde_json_canonicalizer::to_vec(&hashed)?)
}

/// [`canonical_bytes`] for an entry whose details passed [`check_details`].
pub(crate) fn canonical_bytes_checked(entry: &Entry) -> Result<Vec<u8>> {
    let at = entry.at()?;
    let mut out = Vec::with_capacity(256);
    // The seven keys in sorted order.
    out.extend_from_slice(b"{\"action\":");
    write_json(&mut out, &entry.action)?;
    out.extend_from_slice(b",\"actor\":");
    write_json(&mut out, &entry.actor)?;
    out.extend_from_slice(b",\"at\":");
    write_json(&mut out, &at)?;
    out.extend_from_slice(b",\"details\":");
    write_sorted(&mut out, &entry.details)?;
    out.extend_from_slice(b",\"prev\":");
    write_json(&mut out, &entry.prev)?;
    out.extend_from_slice(b",\"seq\":");
    write_json(&mut out, &entry.seq)?;
    out.extend_from_slice(b",\"subject\":");
    write_json(&mut out, &entry.subject)?;
    out.push(b'}');
    Ok(out)
}

fn write_json<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<()> {
    Ok(serde_json::to_writer(out, value)?)
}

fn write_sorted(out: &mut Vec<u8>, value: &Value) -> Result<()> {
    match value {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (index, (key, value)) in members.into_iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_json(out, key)?;
                out.push(b':');
                write_sorted(out, value)?;
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_sorted(out, item)?;
            }
            out.push(b']');
        }
        scalar => write_json(out, scalar)?,
    }
    Ok(())
}

/// Lowercase hex SHA-256 of [`canonical_bytes`]: what the entry's `hash` must be.
pub fn entry_hash(entry: &Entry) -> Result<String> {
    Ok(hex::encode(Sha256::digest(canonical_bytes(entry)?)))
}

/// [`entry_hash`] for an entry whose details passed [`check_details`].
pub(crate) fn entry_hash_checked(entry: &Entry) -> Result<String> {
    Ok(hex::encode(Sha256::digest(canonical_bytes_checked(entry)?)))
}

/// Checks that actor, action and subject are usable.
pub fn check_event(event: &Event) -> Result<()> {
    for (field, value) in [
        ("actor", &event.actor),
        ("action", &event.action),
        ("subject", &event.subject),
    ] {
        if value.trim().is_empty() {
            return Err(AuditError::EmptyField { field });
        }
    }
    let words: Vec<&str> = event.action.split('.').collect();
    let word_ok = |word: &&str| {
        !word.is_empty()
            && word
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    };
    if words.len() < 2 || !words.iter().all(word_ok) {
        return Err(AuditError::Action(event.action.clone()));
    }
    Ok(())
}

/// Makes details encodable the same way by JCS and by Python's `json.dumps`: `null` becomes
/// `{}`; a number that is not an integer within ±[`MAX_SAFE_INTEGER`] becomes a string holding
/// its JSON text (`1.5` → `"1.5"`), so nothing is lost and nothing depends on float printing.
/// Refuses anything but an object at the top, and object keys with characters beyond U+FFFF.
pub fn normalize_details(details: Value) -> Result<Value> {
    match details {
        Value::Null => Ok(Value::Object(Map::new())),
        Value::Object(map) => normalize_object(map, ""),
        other => Err(AuditError::Details {
            path: "/".into(),
            problem: format!(
                "details must be a JSON object (or null for none), not {}",
                json_type(&other)
            ),
        }),
    }
}

fn normalize_object(map: Map<String, Value>, path: &str) -> Result<Value> {
    let mut normalized = Map::with_capacity(map.len());
    for (key, value) in map {
        let here = format!("{path}/{}", escape_pointer(&key));
        check_key(&key, &here)?;
        let value = normalize_value(value, &here)?;
        normalized.insert(key, value);
    }
    Ok(Value::Object(normalized))
}

fn normalize_value(value: Value, path: &str) -> Result<Value> {
    Ok(match value {
        Value::Number(number) if !is_safe_integer(&number) => Value::String(number.to_string()),
        Value::Object(map) => normalize_object(map, path)?,
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(index, item)| normalize_value(item, &format!("{path}/{index}")))
                .collect::<Result<_>>()?,
        ),
        other => other,
    })
}

/// Checks stored details without changing them: what [`normalize_details`] would leave as is.
/// Verification uses it, so a log whose details another tool could encode differently is
/// reported rather than hashed one way here and another way there.
pub fn check_details(details: &Value) -> Result<()> {
    fn walk(value: &Value, path: &str) -> Result<()> {
        match value {
            Value::Number(number) if !is_safe_integer(number) => Err(AuditError::Details {
                path: path.to_owned(),
                problem: format!("{number} is not an integer within ±(2^53 − 1)"),
            }),
            Value::Object(map) => map.iter().try_for_each(|(key, value)| {
                let here = format!("{path}/{}", escape_pointer(key));
                check_key(key, &here)?;
                walk(value, &here)
            }),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .try_for_each(|(index, item)| walk(item, &format!("{path}/{index}"))),
            _ => Ok(()),
        }
    }
    match details {
        Value::Object(_) => walk(details, ""),
        other => Err(AuditError::Details {
            path: "/".into(),
            problem: format!("details must be a JSON object, not {}", json_type(other)),
        }),
    }
}

fn check_key(key: &str, path: &str) -> Result<()> {
    if key.chars().any(|c| u32::from(c) > 0xFFFF) {
        return Err(AuditError::Details {
            path: path.to_owned(),
            problem: "object keys may not hold characters beyond U+FFFF (their sort order differs between JSON canonicalisers); rename the key".into(),
        });
    }
    Ok(())
}

fn is_safe_integer(number: &serde_json::Number) -> bool {
    number
        .as_i64()
        .is_some_and(|n| (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&n))
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The first and last millisecond RFC 3339 can write with a four-digit year.
const MIN_MILLIS: i64 = -62_167_219_200_000;
const MAX_MILLIS: i64 = 253_402_300_799_999;

/// `2026-11-22T08:04:51.123Z` for a millisecond timestamp.
pub fn format_millis(at_ms: i64) -> Result<String> {
    if !(MIN_MILLIS..=MAX_MILLIS).contains(&at_ms) {
        return Err(AuditError::Timestamp(at_ms));
    }
    DateTime::from_timestamp_millis(at_ms)
        .map(|at| at.to_rfc3339_opts(SecondsFormat::Millis, true))
        .ok_or(AuditError::Timestamp(at_ms))
}

/// Reads the one form [`format_millis`] writes; any other spelling of the same instant is
/// refused, because the hash covers the text.
pub fn parse_millis(text: &str) -> Option<i64> {
    let at_ms = DateTime::parse_from_rfc3339(text).ok()?.timestamp_millis();
    (format_millis(at_ms).ok()? == text).then_some(at_ms)
}

mod rfc3339_millis {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::Error as _};

    pub fn serialize<S: Serializer>(at_ms: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        let text = super::format_millis(*at_ms).map_err(S::Error::custom)?;
        serializer.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        super::parse_millis(&text).ok_or_else(|| {
            D::Error::custom(format!(
                "`at` is `{text}`, not a UTC RFC 3339 time with milliseconds like 2026-11-22T08:04:51.123Z"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(details: Value) -> Event {
        Event::new("dev@example.org", "run.finished", "r-1", details)
    }

    #[test]
    fn canonical_encoding_sorts_keys_and_escapes_minimally() {
        let entry = Entry::chain(
            1,
            1_763_798_691_123,
            &event(json!({"z": 1, "a": "é\n\u{1}", "m": [true, null]})),
            ZERO_HASH,
        )
        .unwrap();
        let text = String::from_utf8(canonical_bytes(&entry).unwrap()).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"action":"run.finished","actor":"dev@example.org","at":"2025-11-22T08:04:51.123Z","details":{{"a":"é\n\u0001","m":[true,null],"z":1}},"prev":"{ZERO_HASH}","seq":1,"subject":"r-1"}}"#
            )
        );
        assert_eq!(entry.hash, hex::encode(Sha256::digest(text.as_bytes())));
    }

    #[test]
    fn numbers_that_are_not_safe_integers_become_strings() {
        let details = normalize_details(json!({
            "ratio": 0.25, "big": 9_007_199_254_740_992_u64, "ok": -9_007_199_254_740_991_i64,
            "nested": [{"x": 1e300}]
        }))
        .unwrap();
        assert_eq!(
            details,
            json!({"ratio": "0.25", "big": "9007199254740992", "ok": -9_007_199_254_740_991_i64, "nested": [{"x": "1e+300"}]})
        );
        check_details(&details).unwrap();
        assert!(check_details(&json!({"f": 0.5})).is_err());
        assert_eq!(normalize_details(Value::Null).unwrap(), json!({}));
    }

    #[test]
    fn bad_events_are_refused_with_the_reason() {
        let err = normalize_details(json!([1])).unwrap_err().to_string();
        assert!(err.contains("must be a JSON object"), "{err}");
        let err = normalize_details(json!({"a": {"k\u{1F600}": 1}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/a/k"), "{err}");
        for action in ["run", "Run.finished", "run..x", ".run", "run finished"] {
            let mut bad = event(json!({}));
            bad.action = action.into();
            assert!(
                matches!(check_event(&bad), Err(AuditError::Action(_))),
                "{action}"
            );
        }
        let mut bad = event(json!({}));
        bad.actor = " ".into();
        assert!(matches!(
            check_event(&bad),
            Err(AuditError::EmptyField { field: "actor" })
        ));
    }

    #[test]
    fn the_direct_encoding_is_the_canonicalizer_s() {
        let entry = Entry::chain(
            3,
            5,
            &event(json!({"b": {"é": 1, "e": [1, {"z": null, "a": "\u{7f}\u{2028}\"\\\t"}]}, "a": -9_007_199_254_740_991_i64, "\u{ffff}": true, "\u{e000}": false})),
            ZERO_HASH,
        )
        .unwrap();
        let at = entry.at().unwrap();
        let hashed = Hashed {
            seq: entry.seq,
            at: &at,
            actor: &entry.actor,
            action: &entry.action,
            subject: &entry.subject,
            details: &entry.details,
            prev: &entry.prev,
        };
        assert_eq!(
            String::from_utf8(canonical_bytes(&entry).unwrap()).unwrap(),
            String::from_utf8(serde_json_canonicalizer::to_vec(&hashed).unwrap()).unwrap()
        );
        // Details no append would write still hash, through the canonicalizer.
        let mut odd = entry.clone();
        odd.details = json!({"f": 0.1, "n": 1e21});
        assert!(
            String::from_utf8(canonical_bytes(&odd).unwrap())
                .unwrap()
                .contains(r#"{"f":0.1,"n":1e+21}"#)
        );
    }

    #[test]
    fn timestamps_have_one_spelling() {
        assert_eq!(format_millis(0).unwrap(), "1970-01-01T00:00:00.000Z");
        assert_eq!(parse_millis("1970-01-01T00:00:00.000Z"), Some(0));
        assert_eq!(parse_millis("1970-01-01T00:00:00Z"), None);
        assert_eq!(parse_millis("1970-01-01T01:00:00.000+01:00"), None);
        assert!(format_millis(i64::MAX).is_err());
        assert!(format_millis(MAX_MILLIS).is_ok());
        assert!(format_millis(MIN_MILLIS).is_ok());
        assert!(format_millis(MAX_MILLIS + 1).is_err());
    }

    #[test]
    fn entries_round_trip_through_their_json_line() {
        let entry = Entry::chain(7, 1_000, &event(json!({"n": 3})), ZERO_HASH).unwrap();
        let line = serde_json::to_string(&entry).unwrap();
        assert!(
            line.contains(r#""at":"1970-01-01T00:00:01.000Z""#),
            "{line}"
        );
        let back: Entry = serde_json::from_str(&line).unwrap();
        assert_eq!(back, entry);
    }
}
