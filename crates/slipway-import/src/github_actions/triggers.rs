//! Workflow-level settings: `on`, `concurrency` and `permissions`.

use super::{Converter, entries, key_name, lookup, shown, string_list};
use crate::emit::{self, Map, Value};
use crate::translate::{self, Place};
use indexmap::IndexMap;
use slipway_pipeline::yaml::{Node, NodeKind};

/// Pull request activity types Slipway's `pull_request` trigger also reacts to.
const DEFAULT_PR_TYPES: &[&str] = &["opened", "synchronize", "reopened"];

impl Converter<'_> {
    /// `on`, in any of its forms: `push`, `[push, pull_request]`, or a mapping of events.
    pub(super) fn triggers(&mut self, key: &Node, on: &Node) -> Option<Map> {
        let mut out = Map::default();
        match &on.kind {
            NodeKind::Map(events) => {
                for (event, config) in events {
                    self.event(&key_name(event), Some(config), event, &mut out);
                }
            }
            NodeKind::Seq(events) => {
                for event in events {
                    match event.scalar_text() {
                        Some(name) => self.event(&name, None, event, &mut out),
                        None => {
                            self.todo(
                                event,
                                format!(
                                    "`on` lists {}, not an event name; it was dropped",
                                    event.type_name()
                                ),
                                None,
                            );
                        }
                    }
                }
            }
            _ => match on.scalar_text() {
                Some(name) => self.event(&name, None, on, &mut out),
                None => {
                    self.todo(
                        key,
                        format!("`on` is {}, not events; it was dropped", on.type_name()),
                        None,
                    );
                    return None;
                }
            },
        }
        if out.is_empty() {
            // An empty `on` starts no run at all; manual runs keep the pipeline usable.
            self.todo(
                key,
                "no event of the workflow exists in Slipway; the pipeline now runs only when started by hand (`manual`)".into(),
                Some("add the events that should start a run: push, pull_request or schedule".into()),
            );
            out.insert("manual", Value::Map(Map::default()));
        }
        Some(out)
    }

    fn event(&mut self, name: &str, config: Option<&Node>, at: &Node, out: &mut Map) {
        let slipway_name = match name {
            "workflow_dispatch" => "manual",
            other => other,
        };
        if out.entries.iter().any(|e| e.key == slipway_name) {
            return;
        }
        match name {
            "push" | "pull_request" => {
                let filter = self.ref_filter(name, config);
                out.insert(name, Value::Map(filter));
            }
            "schedule" => {
                let crons = self.schedule(at, config);
                if !crons.is_empty() {
                    out.insert("schedule", emit::str_seq(crons));
                }
            }
            "workflow_dispatch" => {
                if let Some((inputs_key, _)) = config.and_then(|c| lookup(entries(c), "inputs")) {
                    self.todo(
                        inputs_key,
                        "`workflow_dispatch` became `manual`, which takes no inputs; `inputs.*` cannot be read".into(),
                        Some("give each input a default under `env:` and change it there when needed".into()),
                    );
                }
                out.insert("manual", Value::Map(Map::default()));
            }
            other => {
                let suggestion = match other {
                    "pull_request_target" => {
                        "Slipway's `pull_request` runs the pull request's own code; use it if that is what the workflow needs"
                    }
                    "release" => {
                        "start the pipeline on the release tag instead: `push: { tags: [\"v*\"] }`"
                    }
                    "workflow_call" => {
                        "make the jobs a template and `include:` it from the pipelines that called this workflow"
                    }
                    "workflow_run" => {
                        "put the jobs of both workflows in one pipeline and connect them with `needs:`"
                    }
                    "merge_group" => {
                        "Slipway has no merge queue; `pull_request` and `push` runs cover the same checks"
                    }
                    _ => "Slipway starts runs on push, pull_request, schedule and manual only",
                };
                self.todo(
                    at,
                    format!("event `{other}` has no Slipway equivalent and was dropped"),
                    Some(suggestion.into()),
                );
            }
        }
    }

    /// Branch, tag and path filters of `push` / `pull_request`.
    fn ref_filter(&mut self, event: &str, config: Option<&Node>) -> Map {
        let mut out = Map::default();
        let Some(config) = config.filter(|c| !matches!(c.kind, NodeKind::Null)) else {
            return out;
        };
        if !matches!(config.kind, NodeKind::Map(_)) {
            self.todo(
                config,
                format!("`{event}` filters must be a mapping; they were dropped"),
                None,
            );
        }
        for (key, value) in entries(config) {
            let option = key_name(key);
            match option.as_str() {
                "branches" | "tags" | "paths" | "paths-ignore" => {
                    let patterns = self.patterns(&option, value);
                    self.tag_pushes |= option == "tags" && !patterns.is_empty();
                    if !patterns.is_empty() {
                        out.insert(option, emit::str_seq(patterns));
                    }
                }
                "branches-ignore" | "tags-ignore" => {
                    let what = option.trim_end_matches("-ignore");
                    let listed = string_list(value)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(s, _)| format!("`{s}`"))
                        .collect::<Vec<_>>();
                    self.todo(
                        key,
                        format!("`{event}.{option}` ({}) has no Slipway equivalent and was dropped, so those {what} now start runs too", listed.join(", ")),
                        Some(format!(
                            "list the {what} that should start runs under `{what}:`, or guard the jobs with `if: event.{} != '…'`",
                            if what == "branches" { "branch" } else { "ref" }
                        )),
                    );
                }
                "types" if event == "pull_request" => {
                    let types: Vec<String> = string_list(value)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(s, _)| s)
                        .collect();
                    let extra: Vec<String> = types
                        .iter()
                        .filter(|t| !DEFAULT_PR_TYPES.contains(&t.as_str()))
                        .map(|t| format!("`{t}`"))
                        .collect();
                    if extra.is_empty() {
                        self.info(key, "`pull_request.types` was dropped: Slipway runs on opened, synchronized and reopened pull requests".into());
                    } else {
                        self.todo(
                            key,
                            format!("pull request activity {} does not start Slipway runs", extra.join(", ")),
                            Some("Slipway runs on opened, synchronized and reopened pull requests only".into()),
                        );
                    }
                }
                other => {
                    self.todo(
                        key,
                        format!("`{event}.{other}` has no Slipway equivalent and was dropped"),
                        None,
                    );
                }
            }
        }
        out
    }

    /// Glob patterns. `!pattern` (negation) has no Slipway equivalent; `**` inside a path
    /// segment (`**.md`) is rewritten, since Slipway's globs need `**` as a whole segment.
    fn patterns(&mut self, option: &str, value: &Node) -> Vec<String> {
        let Some(list) = string_list(value) else {
            self.todo(
                value,
                format!("`{option}` must be a pattern or a list of patterns; it was dropped"),
                None,
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (pattern, at) in list {
            if let Some(negated) = pattern.strip_prefix('!') {
                let suggestion = if option.starts_with("paths") {
                    format!(
                        "Slipway has no negated path patterns: list the paths that matter, or use `paths-ignore: [\"{negated}\"]` on its own"
                    )
                } else {
                    format!(
                        "guard the jobs with `if: \"!startsWith(event.branch, '…')\"` to leave out `{negated}`"
                    )
                };
                self.todo(
                    at,
                    format!("negated pattern `{pattern}` in `{option}` was dropped"),
                    Some(suggestion),
                );
                continue;
            }
            // GitHub's `**` matches across `/` wherever it stands; Slipway's only as a whole path
            // segment (elsewhere it acts like `*`), so `**.md` must become `**/*.md`.
            let widened = widen_double_star(&pattern);
            if slipway_pipeline::paths::compile_glob(&widened).is_err() {
                self.todo(
                    at,
                    format!(
                        "pattern `{pattern}` in `{option}` is not a valid glob; it was dropped"
                    ),
                    None,
                );
                continue;
            }
            if widened != pattern {
                self.info(at, format!("pattern `{pattern}` became `{widened}`: Slipway globs match across `/` only with `**` as a whole path segment"));
            }
            out.push(widened);
        }
        out
    }

    fn schedule(&mut self, at: &Node, config: Option<&Node>) -> Vec<String> {
        let Some(NodeKind::Seq(items)) = config.map(|c| &c.kind) else {
            self.todo(
                at,
                "`schedule` must be a list of `- cron: …` entries; it was dropped".into(),
                None,
            );
            return Vec::new();
        };
        let mut crons = Vec::new();
        for item in items {
            match lookup(entries(item), "cron").and_then(|(_, c)| c.scalar_text()) {
                Some(cron) if slipway_pipeline::schedule::parse_cron(&cron).is_ok() => {
                    crons.push(cron)
                }
                Some(cron) => {
                    self.todo(item, format!("schedule `{cron}` is not a valid 5-field cron expression; it was dropped"), None);
                }
                None => {
                    self.todo(
                        item,
                        format!(
                            "schedule entry `{}` has no `cron`; it was dropped",
                            shown(item)
                        ),
                        None,
                    );
                }
            }
        }
        crons
    }

    /// `concurrency` as a group string or `{ group, cancel-in-progress }`; `None` when it
    /// had to be dropped.
    pub(super) fn concurrency(&mut self, key: &Node, value: &Node) -> Option<Map> {
        let (group, cancel) = match &value.kind {
            NodeKind::Map(_) => (
                lookup(entries(value), "group").map(|(_, g)| g),
                lookup(entries(value), "cancel-in-progress"),
            ),
            _ => (Some(value), None),
        };
        for (k, _) in entries(value) {
            if !matches!(key_name(k).as_str(), "group" | "cancel-in-progress") {
                self.todo(
                    k,
                    format!(
                        "`concurrency.{}` has no Slipway equivalent and was dropped",
                        key_name(k)
                    ),
                    None,
                );
                return None;
            }
        }
        let Some(text) = group.and_then(Node::scalar_text) else {
            self.todo(
                key,
                "`concurrency` has no `group`; it was dropped".into(),
                None,
            );
            return None;
        };
        let scope = self.scope(IndexMap::new(), None);
        let group = match translate::template(&text, scope.at(Place::Pipeline)) {
            Ok(translated) => {
                let at = group.unwrap_or(value);
                self.remarks(at, translated.remarks);
                translated.text
            }
            Err(problems) => {
                self.problems(
                    key,
                    "the `concurrency` group",
                    "`concurrency` was dropped, so runs no longer wait for or cancel each other",
                    problems,
                );
                self.show(format!("concurrency: {}", shown(value)));
                return None;
            }
        };
        let mut out = Map::default();
        out.insert("group", Value::Str(group));
        match cancel {
            None => {}
            Some((_, node)) if matches!(node.kind, NodeKind::Bool(_)) => {
                out.insert(
                    "cancel-in-progress",
                    Value::Bool(node.kind == NodeKind::Bool(true)),
                );
            }
            Some((cancel_key, node)) => {
                self.todo(
                    cancel_key,
                    format!("`cancel-in-progress: {}` is computed; Slipway's is true or false, so it was dropped (runs now wait instead of cancelling)", shown(node)),
                    Some("set `cancel-in-progress: true` if runs of a group should always cancel each other".into()),
                );
            }
        }
        Some(out)
    }

    /// `permissions`: Slipway jobs get no repository token, so read access changes nothing,
    /// but write access and OIDC (`id-token: write`) are things the workflow relied on.
    pub(super) fn permissions(&mut self, key: &Node, value: &Node) {
        let mut writes: Vec<String> = Vec::new();
        match &value.kind {
            NodeKind::Map(scopes) => {
                for (scope, level) in scopes {
                    if level.scalar_text().as_deref() == Some("write") {
                        writes.push(key_name(scope));
                    }
                }
            }
            _ if value.scalar_text().as_deref() == Some("write-all") => {
                writes.push("everything".into())
            }
            _ => {}
        }
        if writes.is_empty() {
            self.info(
                key,
                "`permissions` was dropped: Slipway jobs get no repository token".into(),
            );
            return;
        }
        let suggestion = if writes.iter().any(|w| w == "id-token") {
            "Slipway issues no OIDC tokens: read cloud credentials from a secret provider (env, file or vault) declared under `secrets:`"
        } else {
            "create a token with these rights, declare it under `secrets:` and list it in the job's `secrets:`"
        };
        let listed: Vec<String> = writes.iter().map(|w| format!("`{w}`")).collect();
        self.todo(
            key,
            format!(
                "`permissions` grants write access to {}; Slipway jobs get no repository token",
                listed.join(", ")
            ),
            Some(suggestion.into()),
        );
    }
}

/// `**.md` → `**/*.md`, `docs/**.md` → `docs/**/*.md`, `src**` → `src*/**`.
fn widen_double_star(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|segment| {
            if segment == "**" || !segment.contains("**") {
                segment.to_string()
            } else if let Some(rest) = segment.strip_prefix("**") {
                format!("**/*{rest}")
            } else if let Some(rest) = segment.strip_suffix("**") {
                format!("{rest}*/**")
            } else {
                segment.replacen("**", "*/**/*", 1)
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn double_stars_become_whole_segments() {
        assert_eq!(widen_double_star("**.md"), "**/*.md");
        assert_eq!(widen_double_star("docs/**.md"), "docs/**/*.md");
        assert_eq!(widen_double_star("src**"), "src*/**");
        assert_eq!(widen_double_star("a**b"), "a*/**/*b");
        assert_eq!(widen_double_star("src/**"), "src/**");
    }
}
