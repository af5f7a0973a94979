//! Per-repository adjustments of the policy set (`.slipway/policy.yml`): each rule's level and
//! the parameters the built-in rules read.
//!
//! ```yaml
//! rules:
//!   SLW-P006: warn                              # off | warn | deny, by rule id ...
//!   no-development-key-in-production: deny      # ... or by rule name
//! params:
//!   min-soak: 30m                               # 0 disables the built-in soak minimum
//! ```
//!
//! A level moves every reason of the rule: `off` drops them, `warn` reports them without
//! blocking, `deny` makes them block. At `rollback` the verification rules (`SLW-P001`,
//! `SLW-P002`) keep denying whatever the file says, so that no rollback lands on an
//! unverified digest.

use crate::PolicyError;
use serde::{Deserialize, Serialize};
use serde_saphyr::{Location, Spanned};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Where the overrides live, relative to the repository root.
pub const OVERRIDES_FILE: &str = ".slipway/policy.yml";

/// The soak minimum of production releases when `.slipway/policy.yml` does not set one.
pub const DEFAULT_MIN_SOAK_SECONDS: u64 = 600;

const SHAPE_HINT: &str = "policy.yml holds `rules:` (rule id or name: off | warn | deny) and `params:` (`min-soak: 10m`); see docs/policy.md";

/// What happens to a rule's reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The rule is not consulted.
    Off,
    /// Its reasons are reported as warnings and do not block.
    Warn,
    /// Its reasons block the decision.
    Deny,
}

impl Level {
    /// The word used in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Warn => "warn",
            Level::Deny => "deny",
        }
    }
}

/// One rule's level as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleOverride {
    /// The rule as named in the file: a rule id (`SLW-P006`), a built-in rule's name
    /// (`base-images-pinned`) or a user policy's id.
    pub rule: String,
    /// The level it gets.
    pub level: Level,
    /// Where it is written, `.slipway/policy.yml:3:3`, for errors about the rule name.
    pub at: (u64, u64),
}

/// The overrides of a repository; the default has none and the default parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overrides {
    /// Rule levels, in file order.
    pub rules: Vec<RuleOverride>,
    /// The soak minimum of production releases, in seconds (0: none).
    pub min_soak_seconds: u64,
    /// The file they were read from, relative to the repository root (when there was one).
    pub file: Option<String>,
}

impl Default for Overrides {
    fn default() -> Self {
        Overrides {
            rules: Vec::new(),
            min_soak_seconds: DEFAULT_MIN_SOAK_SECONDS,
            file: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rules: HashMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    params: Option<RawParams>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawParams {
    min_soak: Option<Spanned<serde_json::Value>>,
}

impl Overrides {
    /// Reads `.slipway/policy.yml` under `repo_dir`; no file means the defaults.
    pub fn load(repo_dir: &Path) -> Result<Overrides, PolicyError> {
        let path = repo_dir.join(OVERRIDES_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Overrides::parse(OVERRIDES_FILE, &text),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Overrides::default()),
            Err(error) => Err(PolicyError::io(path, error)),
        }
    }

    /// Reads overrides from YAML text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Overrides, PolicyError> {
        let mut overrides = Overrides {
            file: Some(file.to_owned()),
            ..Overrides::default()
        };
        if text.trim().is_empty() {
            return Ok(overrides);
        }
        let raw: RawFile = serde_saphyr::from_str(text).map_err(|error| {
            let (line, column) = error
                .location()
                .map_or((1, 1), |at| (at.line().max(1), at.column().max(1)));
            let message = error.without_snippet().to_string();
            PolicyError::File {
                file: file.to_owned(),
                line,
                column,
                message: message.lines().next().unwrap_or_default().trim().to_owned(),
                help: SHAPE_HINT.into(),
            }
        })?;
        let located = |at: &Location, message: String, help: &str| PolicyError::File {
            file: file.to_owned(),
            line: at.line().max(1),
            column: at.column().max(1),
            message,
            help: help.to_owned(),
        };
        let mut rules: Vec<_> = raw.rules.into_iter().collect();
        rules.sort_by_key(|(key, _)| (key.referenced.line(), key.referenced.column()));
        for (rule, level) in rules {
            let level_value = match level.value.trim() {
                "off" => Level::Off,
                "warn" => Level::Warn,
                "deny" => Level::Deny,
                other => {
                    return Err(located(
                        &level.referenced,
                        format!("`{other}` is not a rule level"),
                        "write off, warn or deny",
                    ));
                }
            };
            if rule.value.trim().is_empty() {
                return Err(located(
                    &rule.referenced,
                    "the rule name is empty".into(),
                    "name the rule by its id (SLW-P006) or name (base-images-pinned)",
                ));
            }
            overrides.rules.push(RuleOverride {
                rule: rule.value.trim().to_owned(),
                level: level_value,
                at: (rule.referenced.line(), rule.referenced.column()),
            });
        }
        if let Some(min_soak) = raw.params.and_then(|params| params.min_soak) {
            overrides.min_soak_seconds = soak_seconds(&min_soak.value).map_err(|message| {
                located(
                    &min_soak.referenced,
                    message,
                    "write a duration such as 0, 90s, 10m or 1h30m",
                )
            })?;
        }
        Ok(overrides)
    }

    /// Sets `rule`'s level (builder style, for callers that assemble overrides in code).
    pub fn with_rule(mut self, rule: &str, level: Level) -> Overrides {
        self.rules.retain(|entry| entry.rule != rule);
        self.rules.push(RuleOverride {
            rule: rule.to_owned(),
            level,
            at: (0, 0),
        });
        self
    }

    /// The level `file` gives the rule with `id` (or `name`), if any.
    pub fn level_of(&self, id: &str, name: Option<&str>) -> Option<Level> {
        self.rules
            .iter()
            .rev()
            .find(|entry| entry.rule == id || Some(entry.rule.as_str()) == name)
            .map(|entry| entry.level)
    }

    /// The parameters as the policies see them: `data.slipway.params`.
    pub(crate) fn params(&self) -> serde_json::Value {
        serde_json::json!({ "min_soak_seconds": self.min_soak_seconds })
    }

    /// A stable text form for the bundle digest: rule levels sorted by rule, then parameters.
    pub(crate) fn canonical(&self) -> String {
        let rules: BTreeMap<&str, &str> = self
            .rules
            .iter()
            .map(|entry| (entry.rule.as_str(), entry.level.as_str()))
            .collect();
        serde_json::json!({ "rules": rules, "params": self.params() }).to_string()
    }
}

/// A soak time: a duration string, or a whole number of seconds.
fn soak_seconds(value: &serde_json::Value) -> Result<u64, String> {
    match value {
        serde_json::Value::Number(number) => number
            .as_u64()
            .ok_or_else(|| format!("`{number}` is not a whole number of seconds")),
        serde_json::Value::String(text) if text.trim() == "0" => Ok(0),
        serde_json::Value::String(text) => slipway_pipeline::read::parse_duration(text)
            .map(|duration| duration.as_secs())
            .map_err(|error| format!("`min-soak: {text}`: {error}")),
        other => Err(format!("`min-soak: {other}` is not a duration")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_parameters_are_read_with_their_places() {
        let text = "rules:\n  SLW-P006: warn\n  no-development-key-in-production: deny\n  SLW-P003: off\nparams:\n  min-soak: 1h30m\n";
        let overrides = Overrides::parse(OVERRIDES_FILE, text).unwrap();
        let read: Vec<_> = overrides
            .rules
            .iter()
            .map(|r| (r.rule.as_str(), r.level, r.at))
            .collect();
        assert_eq!(
            read,
            vec![
                ("SLW-P006", Level::Warn, (2, 3)),
                ("no-development-key-in-production", Level::Deny, (3, 3)),
                ("SLW-P003", Level::Off, (4, 3)),
            ]
        );
        assert_eq!(overrides.min_soak_seconds, 5400);
        assert_eq!(
            overrides.level_of("SLW-P012", Some("no-development-key-in-production")),
            Some(Level::Deny)
        );
        assert_eq!(overrides.level_of("SLW-P001", None), None);
    }

    #[test]
    fn soak_accepts_zero_seconds_and_durations() {
        for (written, seconds) in [("0", 0), ("'0'", 0), ("90", 90), ("90s", 90), ("10m", 600)] {
            let text = format!("params:\n  min-soak: {written}\n");
            let overrides = Overrides::parse(OVERRIDES_FILE, &text).unwrap();
            assert_eq!(overrides.min_soak_seconds, seconds, "{written}");
        }
        assert_eq!(
            Overrides::parse(OVERRIDES_FILE, "")
                .unwrap()
                .min_soak_seconds,
            DEFAULT_MIN_SOAK_SECONDS
        );
    }

    #[test]
    fn mistakes_point_at_their_line_and_column() {
        let cases = [
            (
                "rules:\n  SLW-P006: block\n",
                2,
                13,
                "`block` is not a rule level",
            ),
            ("params:\n  min-soak: soon\n", 2, 13, "min-soak: soon"),
            ("params:\n  max-soak: 1m\n", 2, 3, "max-soak"),
            ("rule:\n  SLW-P006: off\n", 1, 1, "rule"),
            ("rules: [\n", 1, 8, "expected mapping"),
        ];
        for (text, line, column, needle) in cases {
            match Overrides::parse(OVERRIDES_FILE, text) {
                Err(PolicyError::File {
                    file,
                    line: l,
                    column: c,
                    message,
                    ..
                }) => {
                    assert_eq!(file, OVERRIDES_FILE);
                    assert_eq!((l, c), (line, column), "{text}: {message}");
                    assert!(message.contains(needle), "{message} lacks {needle}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
