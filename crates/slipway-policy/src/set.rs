//! A policy set: the built-in pack, the repository's `.slipway/policies/*.rego` and the
//! overrides, parsed and compiled once, ready to evaluate any number of inputs.

use crate::decision::DecisionPoint;
use crate::overrides::Overrides;
use crate::{PolicyError, builtin, sha256_hex};
use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where a repository's policies live, relative to its root.
pub const POLICY_DIR: &str = ".slipway/policies";

/// The longest one evaluation may run before it fails: a policy that loops must not stall a
/// promotion.
pub const EVALUATION_TIME_LIMIT: Duration = Duration::from_secs(10);

/// The package name space of the built-in pack and its parameters (`data.slipway.params`).
const RESERVED_ROOT: &str = "slipway";

/// One Rego module of a set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    /// Its label: `builtin/<file>.rego`, or its path relative to the repository root.
    pub path: String,
    /// Its text.
    pub text: String,
    /// Whether it is part of the built-in pack.
    pub builtin: bool,
}

/// What a set knows about one policy package (one rule, in Slipway's terms).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RuleInfo {
    /// The stable id: `meta.id`, or the package path without `data.`.
    pub id: String,
    /// `meta.name`, a readable alias the overrides accept too.
    pub name: Option<String>,
    /// `meta.title`: what the rule requires, in one line.
    pub title: Option<String>,
    /// The decision points it runs at (`meta.points`; all when not declared).
    pub points: Vec<DecisionPoint>,
    /// `meta.remediation`: how to satisfy it, used when a message brings none.
    pub remediation: Option<String>,
    /// `builtin`, or the policy file(s) of the package.
    pub source: String,
    /// Whether it belongs to the built-in pack.
    pub builtin: bool,
}

/// A package as the evaluator sees it.
#[derive(Clone, Debug)]
pub(crate) struct Package {
    /// The Rego reference of the package: `data.slipway.builtin.sbom_attached`.
    pub query: String,
    pub source: String,
    pub builtin: bool,
    pub meta: Meta,
    components: Vec<String>,
}

/// A package's `meta` document.
#[derive(Clone, Debug, Default)]
pub(crate) struct Meta {
    pub id: Option<String>,
    pub name: Option<String>,
    pub title: Option<String>,
    pub points: Option<Vec<DecisionPoint>>,
    pub remediation: Option<String>,
}

impl Package {
    pub(crate) fn rule_id(&self) -> String {
        self.meta.id.clone().unwrap_or_else(|| self.display_name())
    }

    pub(crate) fn display_name(&self) -> String {
        self.components.join(".")
    }

    pub(crate) fn applies_at(&self, point: DecisionPoint) -> bool {
        self.meta
            .points
            .as_ref()
            .is_none_or(|points| points.contains(&point))
    }
}

/// The policies of one decision: modules compiled into one engine, plus the overrides.
#[derive(Clone)]
pub struct PolicySet {
    engine: regorus::Engine,
    modules: Vec<Module>,
    packages: Vec<Package>,
    overrides: Overrides,
    policy_dir: Option<PathBuf>,
    digest: String,
}

impl std::fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySet")
            .field(
                "modules",
                &self.modules.iter().map(|m| &m.path).collect::<Vec<_>>(),
            )
            .field("overrides", &self.overrides)
            .field("digest", &self.digest)
            .finish()
    }
}

impl PolicySet {
    /// The built-in pack alone, with the default parameters.
    pub fn builtin() -> PolicySet {
        // The pack is compiled into the binary and compiled by every test run, so failing
        // here is a build defect, not an input error.
        PolicySet::assemble(builtin::modules(), Overrides::default(), None)
            .unwrap_or_else(|error| panic!("the built-in policy pack does not compile: {error}"))
    }

    /// The built-in pack plus every `.rego` file under `<repo_dir>/.slipway/policies`
    /// (recursively, in path order), with `overrides` applied.
    ///
    /// A module that does not parse or compile fails the load with its file, line, column and
    /// regorus's message. Modules are Rego v1 (`deny contains msg if`); a module that only
    /// parses as v0 (`deny[msg] { ... }`) is read as v0.
    pub fn load(repo_dir: &Path, overrides: &Overrides) -> Result<PolicySet, PolicyError> {
        let dir = repo_dir.join(POLICY_DIR);
        let mut modules = builtin::modules();
        for (path, text) in read_tree(&dir, "rego")? {
            let label = path
                .strip_prefix(repo_dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            modules.push(Module {
                path: label,
                text,
                builtin: false,
            });
        }
        PolicySet::assemble(modules, overrides.clone(), Some(dir))
    }

    /// A set of the built-in pack plus the given modules (labels and texts), with `overrides`.
    pub fn from_modules(
        extra: Vec<Module>,
        overrides: &Overrides,
    ) -> Result<PolicySet, PolicyError> {
        let mut modules = builtin::modules();
        modules.extend(extra.into_iter().map(|module| Module {
            builtin: false,
            ..module
        }));
        PolicySet::assemble(modules, overrides.clone(), None)
    }

    /// `sha256:` over the sorted (path, bytes) of every module, then the overrides.
    pub fn digest(&self) -> String {
        self.digest.clone()
    }

    /// The modules, built-in first, then the repository's in path order.
    pub fn modules(&self) -> &[Module] {
        &self.modules
    }

    /// Every rule (policy package) of the set, in module order.
    pub fn rules(&self) -> Vec<RuleInfo> {
        self.packages
            .iter()
            .map(|package| RuleInfo {
                id: package.rule_id(),
                name: package.meta.name.clone(),
                title: package.meta.title.clone(),
                points: package
                    .meta
                    .points
                    .clone()
                    .unwrap_or_else(|| DecisionPoint::ALL.to_vec()),
                remediation: package.meta.remediation.clone(),
                source: package.source.clone(),
                builtin: package.builtin,
            })
            .collect()
    }

    /// The overrides the set applies.
    pub fn overrides(&self) -> &Overrides {
        &self.overrides
    }

    /// The directory the repository's policies were read from, when there was one.
    pub fn policy_dir(&self) -> Option<&Path> {
        self.policy_dir.as_deref()
    }

    /// Sets the longest one evaluation may run ([`EVALUATION_TIME_LIMIT`] by default).
    pub fn set_time_limit(&mut self, limit: Duration) {
        self.engine.set_execution_timer_config(timer(limit));
    }

    pub(crate) fn engine(&self) -> &regorus::Engine {
        &self.engine
    }

    pub(crate) fn packages(&self) -> &[Package] {
        &self.packages
    }

    fn assemble(
        modules: Vec<Module>,
        overrides: Overrides,
        policy_dir: Option<PathBuf>,
    ) -> Result<PolicySet, PolicyError> {
        let engine = compile(&modules, &overrides.params(), &BTreeMap::new())?;
        let packages = packages(&engine, &modules)?;
        check_overrides(&overrides, &packages)?;
        let digest = set_digest(&modules, &overrides);
        Ok(PolicySet {
            engine,
            modules,
            packages,
            overrides,
            policy_dir,
            digest,
        })
    }
}

/// An engine holding `modules`, with `data.slipway.params` and `fixtures` (at
/// `data.fixtures.<name>`), prepared so that every parse and compile error surfaces now.
pub(crate) fn compile(
    modules: &[Module],
    params: &serde_json::Value,
    fixtures: &BTreeMap<String, serde_json::Value>,
) -> Result<regorus::Engine, PolicyError> {
    let mut engine = regorus::Engine::new();
    engine.set_execution_timer_config(timer(EVALUATION_TIME_LIMIT));
    engine.set_strict_builtin_errors(true);
    for module in modules {
        add_module(&mut engine, module)?;
    }
    let mut data = serde_json::json!({ RESERVED_ROOT: { "params": params } });
    if !fixtures.is_empty() {
        data["fixtures"] = serde_json::to_value(fixtures).unwrap_or_default();
    }
    engine
        .add_data(regorus::Value::from(data))
        .map_err(|error| rego_error(&error, "data"))?;
    // Preparing the engine analyses every module: unsafe (undefined) variables, rule
    // conflicts and imports are reported here rather than at the first decision.
    engine
        .eval_query("data.slipway.params".into(), false)
        .map_err(|error| rego_error(&error, "policies"))?;
    crate::calls::check_calls(&engine)?;
    Ok(engine)
}

/// The evaluation time limit, checked every 256 steps of the interpreter.
fn timer(limit: Duration) -> regorus::utils::limits::ExecutionTimerConfig {
    regorus::utils::limits::ExecutionTimerConfig {
        limit,
        check_interval: NonZeroU32::MIN.saturating_add(255),
    }
}

/// Adds one module: as Rego v1, or as v0 when only that parses. When neither does, the error
/// that got further into the file is the one that explains it.
fn add_module(engine: &mut regorus::Engine, module: &Module) -> Result<(), PolicyError> {
    if !module.builtin {
        check_package_name(module)?;
    }
    engine.set_rego_v0(false);
    let v1_error = match engine.add_policy(module.path.clone(), module.text.clone()) {
        Ok(_) => return Ok(()),
        Err(error) => rego_error(&error, &module.path),
    };
    if module.text.contains("rego.v1") {
        return Err(v1_error);
    }
    engine.set_rego_v0(true);
    let outcome = engine.add_policy(module.path.clone(), module.text.clone());
    engine.set_rego_v0(false);
    match outcome {
        Ok(_) => Ok(()),
        Err(error) => {
            let v0_error = rego_error(&error, &module.path);
            Err(if position(&v0_error) > position(&v1_error) {
                v0_error
            } else {
                v1_error
            })
        }
    }
}

fn position(error: &PolicyError) -> (u32, u32) {
    match error {
        PolicyError::Rego { line, column, .. } => (*line, *column),
        _ => (0, 0),
    }
}

/// User packages may not live under `slipway`: the built-in pack and its parameters do.
fn check_package_name(module: &Module) -> Result<(), PolicyError> {
    for (index, line) in module.text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix("package") {
            let name = rest.trim();
            let root = name
                .split(['.', '[', ' ', '\t', '#'])
                .next()
                .unwrap_or_default();
            if root == RESERVED_ROOT {
                return Err(PolicyError::Rego {
                    file: module.path.clone(),
                    line: u32::try_from(index + 1).unwrap_or(u32::MAX),
                    column: u32::try_from(line.len() - trimmed.len() + 1).unwrap_or(1),
                    message: format!("package `{name}` is in the reserved name space `slipway`"),
                    help: "the built-in pack uses `slipway.*`; name yours differently, e.g. `package policies.require_owner`".into(),
                });
            }
            return Ok(());
        }
    }
    Ok(())
}

/// Turns a regorus error into one with file, line and column.
///
/// regorus renders errors as `--> file:line:col`, the source line with a caret, then
/// `error: message`.
pub(crate) fn rego_error(error: &impl std::fmt::Display, fallback_file: &str) -> PolicyError {
    let text = format!("{error:#}");
    let (file, line, column) = text
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("--> "))
        .and_then(|place| {
            let mut parts = place.rsplitn(3, ':');
            let column = parts.next()?.trim().parse().ok()?;
            let line = parts.next()?.trim().parse().ok()?;
            Some((parts.next()?.to_owned(), line, column))
        })
        .unwrap_or_else(|| (fallback_file.to_owned(), 1, 1));
    let message = text
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("error: "))
        .map(str::to_owned)
        .unwrap_or_else(|| text.trim().lines().next().unwrap_or_default().to_owned());
    let help = if message.contains("is unsafe") {
        "bind the variable before it is used (`x := ...`, `some x in ...`), or fix its spelling"
    } else if message.contains("could not find function") || message.contains("unknown function") {
        "call a built-in function regorus provides (docs/policy.md lists the gaps) or define the function"
    } else if message.contains("conflict") {
        "a rule with one value may be defined only once per package; give the rules different names"
    } else {
        "fix the Rego at that place; docs/policy.md describes how policies are written"
    };
    PolicyError::Rego {
        file,
        line,
        column,
        message,
        help: help.into(),
    }
}

/// Evaluates a Rego reference: `Ok(None)` when it is undefined, the error's message when the
/// evaluation fails.
pub(crate) fn query_value(
    engine: &mut regorus::Engine,
    reference: &str,
) -> Result<Option<serde_json::Value>, String> {
    let results = engine
        .eval_query(reference.to_owned(), false)
        .map_err(|error| {
            // Errors without a place (the time limit) are reported by their message alone.
            let located = format!("{error:#}").contains("--> ");
            match rego_error(&error, reference) {
                PolicyError::Rego {
                    file,
                    line,
                    column,
                    message,
                    ..
                } if located => format!("{file}:{line}:{column}: {message}"),
                PolicyError::Rego { message, .. } => message,
                other => other.to_string(),
            }
        })?;
    let value = results
        .result
        .first()
        .and_then(|result| result.expressions.first())
        .map(|expression| serde_json::to_value(&expression.value))
        .transpose()
        .map_err(|error| error.to_string())?;
    Ok(value)
}

/// The packages of the engine's modules, grouped (several files may share a package), each
/// with its `meta`.
fn packages(engine: &regorus::Engine, modules: &[Module]) -> Result<Vec<Package>, PolicyError> {
    let declared = engine
        .get_policy_package_components()
        .map_err(|error| rego_error(&error, "policies"))?;
    let mut grouped: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for package in declared {
        match grouped.iter_mut().find(|(c, _)| *c == package.components) {
            Some((_, files)) => files.push(package.source_file),
            None => grouped.push((package.components, vec![package.source_file])),
        }
    }
    let mut engine = engine.clone();
    let mut packages = Vec::new();
    for (components, files) in grouped {
        // Packages of shared functions (the pack's `lib`) decide nothing.
        let decides = files.iter().any(|file| {
            ["deny", "warn"].iter().any(|rule| {
                engine
                    .has_declared_rule_rooted_at(file, rule)
                    .unwrap_or(false)
            })
        });
        if !decides {
            continue;
        }
        let builtin = files
            .iter()
            .all(|file| modules.iter().any(|m| m.builtin && &m.path == file));
        let query = reference(&components);
        let meta_value = query_value(&mut engine, &format!("{query}.meta")).map_err(|message| {
            PolicyError::Evaluation {
                rule: format!("{query}.meta"),
                message,
                help: "`meta` must be a constant object (see docs/policy.md)".into(),
            }
        })?;
        let first_file = files.first().cloned().unwrap_or_default();
        let meta = read_meta(meta_value, &first_file, modules)?;
        packages.push(Package {
            query,
            source: if builtin {
                "builtin".to_owned()
            } else {
                files.join(", ")
            },
            builtin,
            meta,
            components,
        });
    }
    Ok(packages)
}

/// `data.a.b["c-d"]` for the components `a`, `b`, `c-d`.
fn reference(components: &[String]) -> String {
    let mut out = String::from("data");
    for component in components {
        let plain = component
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && component
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if plain {
            out.push('.');
            out.push_str(component);
        } else {
            out.push('[');
            out.push_str(&serde_json::Value::String(component.clone()).to_string());
            out.push(']');
        }
    }
    out
}

fn read_meta(
    value: Option<serde_json::Value>,
    file: &str,
    modules: &[Module],
) -> Result<Meta, PolicyError> {
    let Some(value) = value else {
        return Ok(Meta::default());
    };
    let (line, column) = modules
        .iter()
        .find(|m| m.path == file)
        .and_then(|m| {
            m.text
                .lines()
                .position(|line| line.starts_with("meta"))
                .map(|index| (u32::try_from(index + 1).unwrap_or(u32::MAX), 1))
        })
        .unwrap_or((1, 1));
    let invalid = |message: String| {
        PolicyError::Rego {
        file: file.to_owned(),
        line,
        column,
        message,
        help: "write `meta := {\"id\": \"ORG-001\", \"title\": \"...\", \"points\": [\"promote\"], \"remediation\": \"...\"}`".into(),
    }
    };
    let serde_json::Value::Object(map) = value else {
        return Err(invalid(format!("`meta` is {value}, not an object")));
    };
    let text = |key: &str| -> Result<Option<String>, PolicyError> {
        match map.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(text)) => Ok(Some(text.clone())),
            Some(other) => Err(invalid(format!("`meta.{key}` is {other}, not a string"))),
        }
    };
    let points = match map.get("points") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Array(items)) => Some(
            items
                .iter()
                .map(|item| {
                    item.as_str()
                        .and_then(|name| name.parse().ok())
                        .ok_or_else(|| {
                            invalid(format!(
                                "`meta.points` holds {item}, not release, promote or rollback"
                            ))
                        })
                })
                .collect::<Result<Vec<DecisionPoint>, _>>()?,
        ),
        Some(other) => {
            return Err(invalid(format!(
                "`meta.points` is {other}, not a list of decision points"
            )));
        }
    };
    Ok(Meta {
        id: text("id")?,
        name: text("name")?,
        title: text("title")?,
        points,
        remediation: text("remediation")?,
    })
}

/// Every rule the overrides name must exist: a misspelt id would silently change nothing.
fn check_overrides(overrides: &Overrides, packages: &[Package]) -> Result<(), PolicyError> {
    for entry in &overrides.rules {
        let known = packages.iter().any(|package| {
            package.rule_id() == entry.rule
                || package.meta.name.as_deref() == Some(entry.rule.as_str())
                || package.display_name() == entry.rule
        });
        if known {
            continue;
        }
        let candidates: Vec<String> = packages
            .iter()
            .flat_map(|p| [Some(p.rule_id()), p.meta.name.clone()])
            .flatten()
            .collect();
        let closest = candidates
            .iter()
            .map(|c| (strsim::jaro_winkler(c, &entry.rule), c))
            .filter(|(score, _)| *score > 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, c)| c.clone());
        let help = match closest {
            Some(c) => format!("did you mean `{c}`? `slipway policy rules` lists every rule"),
            None => "name a rule by its id (SLW-P006) or name (base-images-pinned); docs/policy.md lists the built-in rules".to_owned(),
        };
        return Err(PolicyError::File {
            file: overrides
                .file
                .clone()
                .unwrap_or_else(|| crate::overrides::OVERRIDES_FILE.to_owned()),
            line: entry.at.0.max(1),
            column: entry.at.1.max(1),
            message: format!("no policy rule is called `{}`", entry.rule),
            help,
        });
    }
    Ok(())
}

fn set_digest(modules: &[Module], overrides: &Overrides) -> String {
    let mut sorted: Vec<&Module> = modules.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut bytes = Vec::new();
    for module in sorted {
        for part in [module.path.as_bytes(), module.text.as_bytes()] {
            bytes.extend_from_slice(&(part.len() as u64).to_be_bytes());
            bytes.extend_from_slice(part);
        }
    }
    let canonical = overrides.canonical();
    bytes.extend_from_slice(&(canonical.len() as u64).to_be_bytes());
    bytes.extend_from_slice(canonical.as_bytes());
    format!("sha256:{}", sha256_hex(&bytes))
}

/// Every file with `extension` under `dir` (recursively, hidden entries skipped), sorted by
/// path; a missing directory has none.
pub(crate) fn read_tree(
    dir: &Path,
    extension: &str,
) -> Result<Vec<(PathBuf, String)>, PolicyError> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && current == dir => {
                return Ok(Vec::new());
            }
            Err(error) => return Err(PolicyError::io(&current, error)),
        };
        for entry in entries {
            let entry = entry.map_err(|error| PolicyError::io(&current, error))?;
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let kind = entry
                .file_type()
                .map_err(|error| PolicyError::io(&path, error))?;
            if kind.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == extension) {
                let text = std::fs::read_to_string(&path)
                    .map_err(|error| PolicyError::io(&path, error))?;
                found.push((path, text));
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}
