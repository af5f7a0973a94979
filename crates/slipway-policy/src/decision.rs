//! Evaluating a policy set at a decision point: every applicable package's `deny` and `warn`
//! rules over the input, the overrides applied, and the digests that identify what was judged
//! by what.

use crate::input::Input;
use crate::overrides::Level;
use crate::set::{Package, PolicySet};
use crate::{PolicyError, sha256_hex};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where in delivery a decision is asked.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum DecisionPoint {
    /// After a run: may the artifact be released at all?
    Release,
    /// Before every promotion of a digest to an environment.
    Promote,
    /// Before every rollback: only the verification rules run.
    Rollback,
}

impl DecisionPoint {
    /// Every point, in delivery order.
    pub const ALL: [DecisionPoint; 3] = [
        DecisionPoint::Release,
        DecisionPoint::Promote,
        DecisionPoint::Rollback,
    ];

    /// The name used in inputs, policies and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionPoint::Release => "release",
            DecisionPoint::Promote => "promote",
            DecisionPoint::Rollback => "rollback",
        }
    }
}

impl fmt::Display for DecisionPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DecisionPoint {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        DecisionPoint::ALL
            .into_iter()
            .find(|point| point.as_str() == text)
            .ok_or_else(|| {
                format!("`{text}` is not a decision point: use release, promote or rollback")
            })
    }
}

/// One reason a decision denies or warns.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Reason {
    /// The rule's stable id: `SLW-P001` for built-in rules, a user policy's `meta.id`, or its
    /// package path (`policies.require_owner`).
    pub rule: String,
    /// What is wrong, naming the artifact, file or environment concerned.
    pub message: String,
    /// How to fix it, when the rule says.
    pub remediation: Option<String>,
    /// `builtin`, or the policy file(s) the rule is written in.
    pub source: String,
}

/// The outcome of one decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// Where it was asked.
    pub point: DecisionPoint,
    /// Whether nothing denies.
    pub allow: bool,
    /// Reasons that block, sorted by rule and message.
    pub deny: Vec<Reason>,
    /// Reasons reported without blocking, sorted by rule and message.
    pub warn: Vec<Reason>,
    /// The policy set's digest ([`PolicySet::digest`]).
    pub bundle_digest: String,
    /// `sha256:` of the canonical JSON of the input as evaluated (its `decision` set to `point`).
    pub input_digest: String,
    /// When it was evaluated, RFC 3339 UTC.
    pub evaluated_at: String,
}

/// Rules that still deny at `rollback` whatever the overrides say: a rollback never lands on
/// an artifact whose signature or provenance subject does not verify.
pub const LOCKED_AT_ROLLBACK: [&str; 2] = ["SLW-P001", "SLW-P002"];

/// Evaluates `set` at `point` over `input`.
///
/// The input's `decision` is set to `point`. Fails when the input cannot be judged at that
/// point ([`Input::check`]) or a policy fails while it runs; a policy that merely does not
/// match adds no reason.
pub fn evaluate(
    set: &PolicySet,
    point: DecisionPoint,
    input: &Input,
) -> Result<Decision, PolicyError> {
    input.check(point)?;
    let mut effective = input.clone();
    effective.decision = point;
    let document = serde_json::to_value(&effective).map_err(|error| PolicyError::Input {
        message: error.to_string(),
        help: "the input could not be turned into JSON".into(),
    })?;
    let input_digest = format!(
        "sha256:{}",
        sha256_hex(canonical_json(&document).as_bytes())
    );
    let mut engine = set.engine().clone();
    engine.set_input(regorus::Value::from(document));
    // The packages that run, with the level the overrides give them (`None`: their own).
    let mut running: Vec<(&Package, Option<Level>)> = Vec::new();
    for package in set.packages() {
        if !package.applies_at(point) {
            continue;
        }
        let locked = point == DecisionPoint::Rollback
            && package.builtin
            && LOCKED_AT_ROLLBACK.contains(&package.rule_id().as_str());
        let level = if locked {
            None
        } else {
            set.overrides()
                .level_of(&package.rule_id(), package.meta.name.as_deref())
        };
        if level != Some(Level::Off) {
            running.push((package, level));
        }
    }
    // One query evaluates every rule, so rules and functions shared by packages are evaluated once. Each
    // rule is wrapped in a comprehension: `[]` when the package does not define it.
    let parts: Vec<String> = running
        .iter()
        .flat_map(|(package, _)| {
            RULES.map(|(rule, _)| format!("[v | v := {}.{rule}]", package.query))
        })
        .collect();
    // One part per line: regorus limits the width of a line.
    let query = format!("[\n{}\n]", parts.join(",\n"));
    let failed = |message: String| PolicyError::Evaluation {
        rule: format!("the policies of {point}"),
        help: if message.contains("time limit") {
            "a policy ran too long: look for iterations over large or nested collections".into()
        } else {
            "fix the policy at that place; `slipway policy test` runs its tests".into()
        },
        message,
    };
    let values = match crate::set::query_value(&mut engine, &query).map_err(failed)? {
        Some(serde_json::Value::Array(values)) if values.len() == parts.len() => values,
        other => return Err(failed(format!("the rules evaluated to {other:?}"))),
    };
    let mut deny = Vec::new();
    let mut warn = Vec::new();
    let mut values = values.into_iter();
    for (package, level) in running {
        for (rule, natural) in RULES {
            let value = match values.next() {
                Some(serde_json::Value::Array(mut defined)) => defined.pop(),
                _ => None,
            };
            for reason in package_reasons(package, rule, value)? {
                match level.unwrap_or(natural) {
                    Level::Deny => deny.push(reason),
                    Level::Warn => warn.push(reason),
                    Level::Off => {}
                }
            }
        }
    }
    deny.sort();
    deny.dedup();
    warn.sort();
    warn.dedup();
    Ok(Decision {
        point,
        allow: deny.is_empty(),
        deny,
        warn,
        bundle_digest: set.digest(),
        input_digest,
        evaluated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

/// The rules a package decides with, and the level their reasons have by default.
const RULES: [(&str, Level); 2] = [("deny", Level::Deny), ("warn", Level::Warn)];

/// The reasons one `deny` or `warn` rule of a package gives, from its value (`None`: the
/// package does not define it).
fn package_reasons(
    package: &Package,
    rule: &str,
    value: Option<serde_json::Value>,
) -> Result<Vec<Reason>, PolicyError> {
    let path = format!("{}.{rule}", package.query);
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let items = match value {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Object(map) => map
            .into_iter()
            .filter(|(_, value)| value != &serde_json::Value::Bool(false))
            .map(|(key, _)| serde_json::Value::String(key))
            .collect(),
        serde_json::Value::Bool(false) => Vec::new(),
        serde_json::Value::Bool(true) => {
            vec![serde_json::Value::String(format!(
                "{} {rule}s",
                package.display_name()
            ))]
        }
        other => {
            return Err(PolicyError::Evaluation {
                rule: format!("{} ({})", path, package.source),
                message: format!("`{rule}` is {other}, not a set of messages"),
                help: format!(
                    "write `{rule} contains msg if {{ ... }}` so that it collects messages"
                ),
            });
        }
    };
    Ok(items
        .into_iter()
        .map(|item| reason(package, item))
        .collect())
}

/// One message of a rule: a string, or an object with `msg` (or `message`) and optionally
/// `remediation`.
fn reason(package: &Package, item: serde_json::Value) -> Reason {
    let (message, remediation) = match item {
        serde_json::Value::String(text) => (text, None),
        serde_json::Value::Object(map) => {
            let text = ["msg", "message"]
                .iter()
                .find_map(|key| map.get(*key).and_then(|v| v.as_str()).map(str::to_owned));
            let remediation = map
                .get("remediation")
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            let message =
                text.unwrap_or_else(|| serde_json::Value::Object(map.clone()).to_string());
            (message, remediation)
        }
        other => (other.to_string(), None),
    };
    Reason {
        rule: package.rule_id(),
        message,
        remediation: remediation.or_else(|| package.meta.remediation.clone()),
        source: package.source.clone(),
    }
}

/// JSON with object keys sorted and no insignificant whitespace (RFC 8785 for the values the
/// input holds: strings, integers, booleans, null).
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (index, (key, value)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_by_utf16_and_drops_whitespace() {
        let value = json!({"b": [1, {"z": null, "a": true}], "a": "x\u{1F600}", "\u{e9}": 2, "\u{fb33}": 3, "\u{1F600}": 4});
        assert_eq!(
            canonical_json(&value),
            "{\"a\":\"x\u{1F600}\",\"b\":[1,{\"a\":true,\"z\":null}],\"\u{e9}\":2,\"\u{1F600}\":4,\"\u{fb33}\":3}"
        );
    }

    #[test]
    fn points_parse_from_their_names_only() {
        for point in DecisionPoint::ALL {
            assert_eq!(point.as_str().parse::<DecisionPoint>(), Ok(point));
        }
        assert!(
            "deploy"
                .parse::<DecisionPoint>()
                .unwrap_err()
                .contains("release, promote or rollback")
        );
    }
}
