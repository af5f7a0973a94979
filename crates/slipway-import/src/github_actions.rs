//! `slipway import github-actions`: a GitHub Actions workflow → a Slipway pipeline.
//!
//! The workflow is read with Slipway's own YAML reader, so every note points at the exact
//! line and column of what it is about. The conversion walks the workflow once, writing the
//! pipeline as an [`emit`] tree; whatever cannot be carried over becomes an Untranslated note
//! and a `TODO(slipway import)` comment next to the job or step it concerns. The result is
//! loaded with `slipway_pipeline::load` before it is returned: a lint error left in it would
//! be a bug here, and is reported as a note rather than handed over silently.

mod actions;
mod triggers;

use crate::emit::{self, Entry, Item, Map, Value};
use crate::translate::{self, Place, Problem, Scope};
use crate::{Conversion, ImportError, Note, NoteKind};
use indexmap::IndexMap;
use slipway_pipeline::source::{SourceFile, SourceId};
use slipway_pipeline::yaml::{self, Node, NodeKind};
use std::collections::BTreeSet;

/// Converts the text of a GitHub Actions workflow. `file_name` names the input in the
/// output's header comment and stands in for `github.workflow` when the workflow has no name.
///
/// Fails only when the input is not a readable workflow: invalid YAML, not a mapping, or no
/// `jobs`. Everything else is converted as far as possible and reported in the notes.
pub fn convert(workflow_text: &str, file_name: &str) -> Result<Conversion, ImportError> {
    let file = SourceFile::new(file_name, workflow_text);
    let (tree, diagnostics) = yaml::parse(&file, SourceId(0));
    if let Some(diagnostic) = diagnostics.first() {
        return Err(error_at(
            &file,
            diagnostic.span.start as usize,
            diagnostic.message.clone(),
        ));
    }
    let Some(root) = tree else {
        return Err(error_at(
            &file,
            0,
            "the file could not be read as YAML".into(),
        ));
    };
    check_keys(&file, &root, 0)?;
    let NodeKind::Map(top) = &root.kind else {
        return Err(error_at(
            &file,
            root.span.start as usize,
            format!(
                "a workflow is a mapping with `on` and `jobs`, found {}",
                root.type_name()
            ),
        ));
    };
    let Some((jobs_key, jobs)) = lookup(top, "jobs") else {
        return Err(error_at(&file, 0, "the workflow has no `jobs`".into()));
    };
    let jobs = match &jobs.kind {
        NodeKind::Map(jobs) if !jobs.is_empty() => jobs,
        _ => {
            return Err(error_at(
                &file,
                jobs.span.start as usize,
                "`jobs` must be a mapping of job ids to jobs, with at least one job".into(),
            ));
        }
    };
    let workflow_name = lookup(top, "name")
        .and_then(|(_, name)| name.scalar_text())
        .unwrap_or_else(|| file_name.to_string());
    let mut converter = Converter {
        file: &file,
        notes: Vec::new(),
        workflow_name,
        job_ids: IndexMap::new(),
        secrets: BTreeSet::new(),
        workflow_secrets: BTreeSet::new(),
        comments: Vec::new(),
        tag_pushes: false,
    };
    let pipeline = converter.workflow(top, jobs_key, jobs);
    let mut header = vec![format!(
        "Converted from {file_name} by slipway import github-actions"
    )];
    if converter
        .notes
        .iter()
        .any(|n| n.kind == NoteKind::Untranslated)
    {
        header.push("Parts could not be translated: see the TODO(slipway import) comments.".into());
    }
    let pipeline_yaml = emit::document(&header, &pipeline);
    converter.check_output(&pipeline_yaml);
    let mut notes = converter.notes;
    notes.sort_by_key(|n| (n.line, n.column));
    Ok(Conversion {
        pipeline_yaml,
        notes,
    })
}

fn error_at(file: &SourceFile, offset: usize, message: String) -> ImportError {
    let (line, column) = file.line_col(offset);
    ImportError {
        line,
        column,
        message,
    }
}

/// Workflows nest a handful of levels; anything far deeper is not a workflow, and walking it
/// recursively could exhaust the stack.
const MAX_DEPTH: usize = 64;

/// Rejects what GitHub rejects before reading anything: keys that are not scalars, keys
/// given twice in one mapping (YAML readers disagree on which one wins), runaway nesting.
fn check_keys(file: &SourceFile, node: &Node, depth: usize) -> Result<(), ImportError> {
    if depth > MAX_DEPTH {
        return Err(error_at(
            file,
            node.span.start as usize,
            format!("the document nests deeper than {MAX_DEPTH} levels"),
        ));
    }
    match &node.kind {
        NodeKind::Map(entries) => {
            let mut seen: Vec<(String, &Node)> = Vec::new();
            for (key, value) in entries {
                let Some(name) = key.scalar_text() else {
                    return Err(error_at(
                        file,
                        key.span.start as usize,
                        "mapping keys must be strings".into(),
                    ));
                };
                if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
                    let (line, _) = file.line_col(first.span.start as usize);
                    return Err(error_at(
                        file,
                        key.span.start as usize,
                        format!("duplicate key `{name}`, first defined on line {line}"),
                    ));
                }
                seen.push((name, key));
                check_keys(file, value, depth + 1)?;
            }
        }
        NodeKind::Seq(items) => {
            for item in items {
                check_keys(file, item, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The first entry named `key` of a mapping.
fn lookup<'n>(entries: &'n [(Node, Node)], key: &str) -> Option<(&'n Node, &'n Node)> {
    entries
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(k, v)| (k, v))
}

/// A key's text; keys were checked to be scalars.
fn key_name(key: &Node) -> String {
    key.scalar_text().unwrap_or_default()
}

fn entries(node: &Node) -> &[(Node, Node)] {
    match &node.kind {
        NodeKind::Map(entries) => entries,
        _ => &[],
    }
}

/// A string or a list of strings (`needs: build`, `needs: [a, b]`), with the node of each.
fn string_list(node: &Node) -> Option<Vec<(String, &Node)>> {
    match &node.kind {
        NodeKind::Seq(items) => items
            .iter()
            .map(|item| item.scalar_text().map(|s| (s, item)))
            .collect(),
        _ => node.scalar_text().map(|s| vec![(s, node)]),
    }
}

/// A value's text for a comment that shows what was dropped.
fn shown(node: &Node) -> String {
    match &node.kind {
        NodeKind::Seq(items) => format!(
            "[{}]",
            items.iter().map(shown).collect::<Vec<_>>().join(", ")
        ),
        NodeKind::Map(entries) => format!(
            "{{ {} }}",
            entries
                .iter()
                .map(|(k, v)| format!("{}: {}", key_name(k), shown(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        NodeKind::Null => "null".into(),
        _ => node.scalar_text().unwrap_or_default(),
    }
}

/// `"a", "b" and "c"`.
fn join_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

struct Converter<'a> {
    file: &'a SourceFile,
    notes: Vec<Note>,
    /// What `github.workflow` reads: the workflow's name, or its file.
    workflow_name: String,
    /// GitHub job id → Slipway job id.
    job_ids: IndexMap<String, String>,
    /// Secrets declared under the pipeline's top-level `secrets:`.
    secrets: BTreeSet<String>,
    /// Secrets read by the workflow-level `env`; every job lists them.
    workflow_secrets: BTreeSet<String>,
    /// `TODO` comments waiting to be written above what is being converted.
    comments: Vec<String>,
    /// `on.push.tags` is set: `github.ref_name` may be a tag.
    tag_pushes: bool,
}

/// Shell and working directory of GitHub's `defaults.run`.
#[derive(Default)]
struct RunDefaults {
    shell: Option<String>,
    working_directory: Option<String>,
}

/// What a job's expressions can see, owned so that the converter stays borrowable.
struct JobScope {
    workflow_name: String,
    needs: IndexMap<String, String>,
    matrix: Option<BTreeSet<String>>,
    tag_pushes: bool,
}

impl JobScope {
    fn at(&self, place: Place) -> Scope<'_> {
        Scope {
            place,
            workflow_name: &self.workflow_name,
            needs: &self.needs,
            matrix: self.matrix.as_ref(),
            tag_pushes: self.tag_pushes,
        }
    }
}

impl Converter<'_> {
    fn note(&mut self, at: &Node, kind: NoteKind, message: String, suggestion: Option<String>) {
        let (line, column) = self.file.line_col(at.span.start as usize);
        self.notes.push(Note {
            line,
            column,
            kind,
            message,
            suggestion,
        });
    }

    /// What expressions of a job (or, without needs and matrix, of the workflow) can see.
    fn scope(&self, needs: IndexMap<String, String>, matrix: Option<BTreeSet<String>>) -> JobScope {
        JobScope {
            workflow_name: self.workflow_name.clone(),
            needs,
            matrix,
            tag_pushes: self.tag_pushes,
        }
    }

    /// Records a Translated note.
    fn info(&mut self, at: &Node, message: String) {
        self.note(at, NoteKind::Translated, message, None);
    }

    /// Records an Untranslated note, and queues its `TODO` comment for the output.
    fn todo(&mut self, at: &Node, message: String, suggestion: impl Into<Option<String>>) {
        self.comments
            .push(format!("TODO(slipway import): {message}"));
        self.note(at, NoteKind::Untranslated, message, suggestion.into());
    }

    /// Queues a comment line showing what was dropped, after the `TODO` it belongs to.
    fn show(&mut self, line: String) {
        self.comments.push(line);
    }

    /// The queued comments, to be written above the job, step or section being converted.
    fn take_comments(&mut self) -> Vec<String> {
        std::mem::take(&mut self.comments)
    }

    /// Records the problems of an expression as one Untranslated note.
    fn problems(&mut self, at: &Node, subject: &str, consequence: &str, problems: Vec<Problem>) {
        let whats: Vec<String> = problems.iter().map(|p| p.what.clone()).collect();
        let mut hints: Vec<String> = Vec::new();
        for problem in problems {
            if !hints.contains(&problem.hint) {
                hints.push(problem.hint);
            }
        }
        let message = format!(
            "{subject} uses {}, which Slipway cannot express; {consequence}",
            join_words(&whats)
        );
        self.todo(at, message, Some(hints.join("; ")));
    }

    fn remarks(&mut self, at: &Node, remarks: Vec<String>) {
        for remark in remarks {
            self.info(at, remark);
        }
    }

    fn workflow(&mut self, top: &[(Node, Node)], jobs_key: &Node, jobs: &[(Node, Node)]) -> Map {
        self.job_ids = self.assign_job_ids(jobs);
        let mut out = Map::default();
        out.insert("version", Value::Number("1".into()));
        if let Some(name) = lookup(top, "name").and_then(|(_, n)| n.scalar_text()) {
            out.insert("name", Value::Str(name));
        }
        // Comments about a section go above it; those of a dropped section, above the next.
        match lookup(top, "on") {
            Some((key, on)) => {
                let on = self.triggers(key, on);
                self.section(&mut out, "on", on.map(Value::Map));
            }
            None => self.todo(
                &top[0].0,
                "the workflow has no `on`; without one, every event starts the pipeline".into(),
                Some("add `on:` with the events that should start a run".into()),
            ),
        }
        if let Some((key, value)) = lookup(top, "concurrency") {
            let concurrency = self.concurrency(key, value);
            self.section(&mut out, "concurrency", concurrency.map(Value::Map));
        }
        if let Some((key, value)) = lookup(top, "defaults") {
            let defaults = self.run_defaults(key, value);
            let mut map = Map::default();
            if let Some(shell) = defaults.shell {
                map.insert("shell", Value::Str(shell));
            }
            if let Some(dir) = defaults.working_directory {
                map.insert("working-directory", Value::Str(dir));
            }
            self.section(
                &mut out,
                "defaults",
                (!map.is_empty()).then_some(Value::Map(map)),
            );
        }
        if let Some((_, env)) = lookup(top, "env") {
            let scope = self.scope(IndexMap::new(), None);
            let mut secrets = BTreeSet::new();
            let env = self.env(env, scope.at(Place::Pipeline), &mut secrets);
            self.workflow_secrets = secrets;
            self.section(&mut out, "env", env.map(Value::Map));
        }
        for (key, value) in top {
            match key_name(key).as_str() {
                "name" | "on" | "concurrency" | "defaults" | "env" | "jobs" => {}
                "permissions" => self.permissions(key, value),
                "run-name" => self.info(
                    key,
                    "`run-name` was dropped: Slipway names runs after their event".into(),
                ),
                other => self.todo(
                    key,
                    format!("unknown workflow key `{other}` was dropped"),
                    None,
                ),
            }
        }
        let jobs = self.jobs(jobs_key, jobs);
        self.section(&mut out, "jobs", Some(Value::Map(jobs)));
        if !self.secrets.is_empty() {
            let mut secrets = Map::default();
            for name in &self.secrets {
                let mut source = Map::default();
                source.insert("from", Value::Str("env".into()));
                source.insert("name", Value::Str(name.clone()));
                secrets.insert(name.clone(), Value::Map(source));
            }
            self.section(&mut out, "secrets", Some(Value::Map(secrets)));
        }
        out
    }

    /// Adds a top-level section with the queued comments above it. Without a value, the
    /// comments stay queued for the next section.
    fn section(&mut self, out: &mut Map, key: &str, value: Option<Value>) {
        if let Some(value) = value {
            out.entries.push(Entry {
                comments: self.take_comments(),
                blank_before: true,
                key: key.into(),
                value,
            });
        }
    }

    /// Slipway job ids hold `A-Za-z0-9_-` and start with a letter, digit or `_`.
    fn assign_job_ids(&mut self, jobs: &[(Node, Node)]) -> IndexMap<String, String> {
        let mut ids: IndexMap<String, String> = IndexMap::new();
        for (key, _) in jobs {
            let github_id = key_name(key);
            let mut base: String = github_id
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            if !base.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                base.insert_str(0, "job");
            }
            let mut id = base.clone();
            let mut n = 2;
            while ids.values().any(|taken| *taken == id) {
                id = format!("{base}-{n}");
                n += 1;
            }
            if id != github_id {
                self.info(key, format!("job `{github_id}` is `{id}` in Slipway: job ids hold only letters, digits, `_` and `-`"));
            }
            ids.insert(github_id, id);
        }
        ids
    }

    fn jobs(&mut self, jobs_key: &Node, jobs: &[(Node, Node)]) -> Map {
        // Comments queued so far belong above `jobs:`, not above its first job.
        let before = self.take_comments();
        let mut out = Map::default();
        let mut without_timeout = 0;
        for (i, (key, job)) in jobs.iter().enumerate() {
            let github_id = key_name(key);
            let id = self
                .job_ids
                .get(&github_id)
                .cloned()
                .unwrap_or_else(|| github_id.clone());
            let (comments, map) = self.job(&github_id, key, job);
            if !map.entries.iter().any(|e| e.key == "timeout") {
                without_timeout += 1;
            }
            out.entries.push(Entry {
                comments,
                blank_before: i > 0,
                key: id,
                value: Value::Map(map),
            });
        }
        if without_timeout > 0 {
            self.info(
                jobs_key,
                format!(
                    "{without_timeout} job(s) set no `timeout-minutes`: GitHub stopped them after 360m, Slipway stops them after 30m (set `timeout:` on jobs that need longer)"
                ),
            );
        }
        self.comments.splice(0..0, before);
        out
    }

    /// Converts one job; returns the comments to write above it and its mapping.
    fn job(&mut self, github_id: &str, key: &Node, job: &Node) -> (Vec<String>, Map) {
        let mut out = Map::default();
        let NodeKind::Map(fields) = &job.kind else {
            self.todo(
                key,
                format!(
                    "job `{github_id}` is {}, not a mapping; it became a placeholder that fails",
                    job.type_name()
                ),
                None,
            );
            out.insert("stage", Value::Str(infer_stage(github_id, None).into()));
            out.insert(
                "steps",
                Value::Seq(vec![placeholder_step("this job could not be read")]),
            );
            return (self.take_comments(), out);
        };
        let get = |name: &str| lookup(fields, name);
        let name = get("name").and_then(|(_, n)| n.scalar_text());
        // The job's name is shown above it: Slipway jobs are known by their id.
        let mut comments: Vec<String> = name.iter().cloned().collect();
        let needs = get("needs")
            .map(|(_, n)| self.needs(github_id, n))
            .unwrap_or_default();
        let (matrix, axes, fail_fast) = match get("strategy") {
            Some((strategy_key, strategy)) => self.strategy(strategy_key, strategy),
            None => (None, None, None),
        };
        let scope = self.scope(needs, axes);
        let condition =
            get("if").and_then(|(k, v)| self.condition(k, v, scope.at(Place::JobIf), "the job"));
        let timeout = get("timeout-minutes").and_then(|(k, v)| self.timeout(k, v));
        let continue_on_error =
            get("continue-on-error").and_then(|(k, v)| self.continue_on_error(k, v));
        let reusable = get("uses");
        let mut defaults = RunDefaults::default();
        for (field_key, value) in fields {
            match key_name(field_key).as_str() {
                "name" | "needs" | "strategy" | "if" | "timeout-minutes" | "continue-on-error"
                | "env" | "steps" | "uses" => {}
                "with" | "secrets" if reusable.is_some() => {}
                "runs-on" => self.runs_on(field_key, value, get("strategy").map(|(_, s)| s)),
                "permissions" => self.permissions(field_key, value),
                "defaults" => {
                    defaults = self.run_defaults(field_key, value);
                    if defaults.shell.is_some() || defaults.working_directory.is_some() {
                        self.info(
                            field_key,
                            "the job's `defaults.run` was applied to each of its `run` steps: Slipway has no job-level defaults".into(),
                        );
                    }
                }
                "services" => self.services(field_key, value),
                "container" => {
                    let image = lookup(entries(value), "image")
                        .map_or_else(|| shown(value), |(_, i)| shown(i));
                    self.todo(
                        field_key,
                        format!("the job's steps ran inside the container `{image}`; Slipway runs them on its agent"),
                        Some(format!(
                            "install the tools on the agent, or run the commands with `docker run --rm -v \"$PWD\":/work -w /work {image} …`"
                        )),
                    );
                }
                "environment" => {
                    let environment = lookup(entries(value), "name")
                        .map_or_else(|| shown(value), |(_, n)| shown(n));
                    self.todo(
                        field_key,
                        format!("GitHub environment `{environment}` (its protection rules and secrets) was not converted"),
                        Some(format!(
                            "Slipway deploys through top-level `environments:` and a job's `deploy: {{ environment: {environment} }}`; approvals go under `environments.{environment}.approval`"
                        )),
                    );
                }
                "outputs" => {
                    let names: Vec<String> = entries(value)
                        .iter()
                        .map(|(k, _)| format!("`{}`", key_name(k)))
                        .collect();
                    self.todo(
                        field_key,
                        format!("job outputs {} cannot be passed as values", join_words(&names)),
                        Some("write each value to a file, list the file under the job's `outputs:`, and read it in the jobs that need this one".into()),
                    );
                }
                "concurrency" => self.todo(
                    field_key,
                    "job-level `concurrency` has no Slipway equivalent".into(),
                    Some("the pipeline's `concurrency:` serialises whole runs".into()),
                ),
                other => self.todo(
                    field_key,
                    format!("unknown job key `{other}` was dropped"),
                    None,
                ),
            }
        }
        comments.extend(self.take_comments());

        let mut secrets = self.workflow_secrets.clone();
        let env = get("env").and_then(|(_, v)| self.env(v, scope.at(Place::Job), &mut secrets));
        let env_comments = self.take_comments();

        let mut cache = None;
        let steps = match (reusable, get("steps")) {
            (Some((uses_key, uses)), _) => {
                let workflow = shown(uses);
                self.todo(
                    uses_key,
                    format!("job `{github_id}` calls the reusable workflow `{workflow}`, which Slipway cannot run; the job became a placeholder that fails"),
                    Some("copy the called workflow's jobs into this pipeline (convert it with `slipway import github-actions`), or make them a template and `include:` it".into()),
                );
                comments.extend(self.take_comments());
                vec![placeholder_step(&format!(
                    "replace the reusable workflow {workflow}"
                ))]
            }
            (None, Some((steps_key, list))) => {
                let mut steps =
                    self.steps(steps_key, list, &scope, &defaults, &mut secrets, &mut cache);
                if !steps.iter().any(|item| item.value.is_some()) {
                    self.todo(
                        steps_key,
                        format!("job `{github_id}` has no steps left after dropping its actions; a placeholder step that fails was added"),
                        Some("add `run:` steps that do the job's work".into()),
                    );
                    steps.push(Item {
                        comments: self.take_comments(),
                        value: Some(placeholder(None, None, "add the steps of this job")),
                    });
                }
                steps
            }
            (None, None) => {
                self.todo(
                    key,
                    format!(
                        "job `{github_id}` has no `steps`; a placeholder step that fails was added"
                    ),
                    None,
                );
                comments.extend(self.take_comments());
                vec![placeholder_step("add the steps of this job")]
            }
        };

        out.insert(
            "stage",
            Value::Str(infer_stage(github_id, name.as_deref()).into()),
        );
        if !scope.needs.is_empty() {
            out.insert("needs", emit::str_seq(scope.needs.values().cloned()));
        }
        if let Some(condition) = condition {
            out.insert("if", condition);
        }
        if let Some(timeout) = timeout {
            out.insert("timeout", Value::Str(timeout));
        }
        if let Some(value) = continue_on_error {
            out.insert("continue-on-error", Value::Bool(value));
        }
        if let Some(value) = fail_fast {
            out.insert("fail-fast", Value::Bool(value));
        }
        if let Some(matrix) = matrix {
            out.insert("matrix", Value::Map(matrix));
        }
        match env {
            Some(env) => out.insert_commented("env", Value::Map(env), env_comments),
            None => comments.extend(env_comments),
        }
        if !secrets.is_empty() {
            out.insert("secrets", emit::str_seq(secrets));
        }
        if let Some(cache) = cache {
            out.insert("cache", Value::Map(cache));
        }
        out.insert("steps", Value::Seq(steps));
        (comments, out)
    }

    /// `needs`, keeping the jobs that exist: GitHub job id → Slipway job id.
    fn needs(&mut self, github_id: &str, node: &Node) -> IndexMap<String, String> {
        let mut out = IndexMap::new();
        let Some(list) = string_list(node) else {
            self.todo(node, format!("`needs` of job `{github_id}` must be a job id or a list of them; it was dropped"), None);
            return out;
        };
        for (need, at) in list {
            match self.job_ids.get(&need) {
                Some(id) => {
                    out.insert(need, id.clone());
                }
                None => self.todo(
                    at,
                    format!(
                        "job `{github_id}` needs `{need}`, which is not a job; the need was dropped"
                    ),
                    None,
                ),
            }
        }
        out
    }

    /// An `if:`, translated; `None` when it had to be left out.
    fn condition(&mut self, key: &Node, value: &Node, scope: Scope, whose: &str) -> Option<Value> {
        let text = match &value.kind {
            NodeKind::Bool(b) => return Some(Value::Bool(*b)),
            _ => value.scalar_text().unwrap_or_else(|| shown(value)),
        };
        match translate::condition(&text, scope) {
            Ok(translated) => {
                self.remarks(value, translated.remarks);
                Some(Value::Str(translated.text))
            }
            Err(problems) => {
                let after = if whose == "the job" {
                    "its needs"
                } else {
                    "the steps before it"
                };
                let consequence =
                    format!("the `if` was left out, so {whose} runs whenever {after} succeed");
                self.problems(key, &format!("the `if` of {whose}"), &consequence, problems);
                self.show(format!("if: {text}"));
                None
            }
        }
    }

    /// `timeout-minutes: N` → `Nm`.
    fn timeout(&mut self, key: &Node, value: &Node) -> Option<String> {
        let minutes = match &value.kind {
            NodeKind::Int(n) => Some(*n as f64),
            NodeKind::Float(f) => Some(*f),
            NodeKind::Str(s, _) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        let seconds = minutes
            .filter(|m| m.is_finite() && *m > 0.0 && *m < 1e9)
            .map(|m| (m * 60.0).round() as u64);
        match seconds {
            Some(s) if s > 0 => Some(slipway_pipeline::read::format_duration(
                std::time::Duration::from_secs(s),
            )),
            _ => {
                self.todo(
                    key,
                    format!(
                        "`timeout-minutes: {}` is not a positive number of minutes; it was dropped",
                        shown(value)
                    ),
                    Some("set `timeout:` to a duration such as `20m`".into()),
                );
                None
            }
        }
    }

    fn continue_on_error(&mut self, key: &Node, value: &Node) -> Option<bool> {
        match (&value.kind, value.scalar_text().as_deref()) {
            (NodeKind::Bool(b), _) => Some(*b),
            (_, Some("true")) => Some(true),
            (_, Some("false")) => Some(false),
            _ => {
                self.todo(
                    key,
                    format!("`continue-on-error: {}` is computed; Slipway's `continue-on-error` is true or false, so it was dropped", shown(value)),
                    Some("to let only some matrix combinations fail, move them into their own job with `continue-on-error: true`".into()),
                );
                None
            }
        }
    }

    /// `defaults.run.shell` / `working-directory`.
    fn run_defaults(&mut self, key: &Node, value: &Node) -> RunDefaults {
        let mut defaults = RunDefaults::default();
        if !matches!(value.kind, NodeKind::Map(_)) {
            self.todo(
                key,
                "`defaults` must be a mapping; it was dropped".into(),
                None,
            );
        }
        for (k, v) in entries(value) {
            if k.as_str() != Some("run") {
                self.todo(
                    k,
                    format!(
                        "`defaults.{}` has no Slipway equivalent and was dropped",
                        key_name(k)
                    ),
                    None,
                );
                continue;
            }
            for (option, setting) in entries(v) {
                match key_name(option).as_str() {
                    "shell" => defaults.shell = self.plain_setting(option, setting, "shell"),
                    "working-directory" => {
                        defaults.working_directory =
                            self.plain_setting(option, setting, "working-directory")
                    }
                    other => self.todo(option, format!("`defaults.run.{other}` was dropped"), None),
                }
            }
        }
        defaults
    }

    /// A `shell` or `working-directory`: Slipway does not evaluate expressions in them, and
    /// GitHub's custom shell templates (`perl {0}`) have no equivalent.
    fn plain_setting(&mut self, key: &Node, value: &Node, what: &str) -> Option<String> {
        let text = value.scalar_text()?;
        if text.contains("${{") || (what == "shell" && text.contains("{0}")) {
            self.todo(
                key,
                format!("`{what}: {text}` was dropped: Slipway takes a fixed {what} here"),
                Some(format!(
                    "write the {what} out, or move the logic into the `run:` script"
                )),
            );
            return None;
        }
        Some(text)
    }

    /// `runs-on`: Slipway runs every job on its agent. Dropping it is fine for Linux runners,
    /// but a job (or matrix axis) that targets Windows or macOS loses what it was for.
    fn runs_on(&mut self, key: &Node, value: &Node, strategy: Option<&Node>) {
        let mut texts = Vec::new();
        match &value.kind {
            NodeKind::Seq(items) => texts.extend(items.iter().filter_map(Node::scalar_text)),
            NodeKind::Map(fields) => {
                for (_, v) in fields {
                    texts.extend(string_list(v).into_iter().flatten().map(|(s, _)| s));
                }
            }
            _ => texts.extend(value.scalar_text()),
        }
        let mut labels: Vec<String> = Vec::new();
        for text in texts {
            match matrix_reference(&text) {
                Some(axis) => labels.extend(matrix_values(strategy, &axis)),
                None => labels.push(text),
            }
        }
        let foreign: Vec<String> = labels
            .iter()
            .filter(|l| {
                let lower = l.to_ascii_lowercase();
                lower.contains("windows") || lower.contains("macos")
            })
            .map(|l| format!("`{l}`"))
            .collect();
        if foreign.is_empty() {
            self.info(
                key,
                format!(
                    "jobs run on the Slipway agent; `runs-on: {}` was dropped",
                    shown(value)
                ),
            );
        } else {
            self.todo(
                key,
                format!("the job targeted {}; Slipway runs it on its agent, so that platform is no longer tested", join_words(&foreign)),
                Some("drop those runners (and their matrix values), or run these jobs on an agent of that platform".into()),
            );
        }
    }

    /// `services`: one note per service container, with the command that would start it.
    fn services(&mut self, key: &Node, value: &Node) {
        let NodeKind::Map(services) = &value.kind else {
            self.todo(
                key,
                "`services` must be a mapping; it was dropped".into(),
                None,
            );
            return;
        };
        for (name_key, service) in services {
            let name = key_name(name_key);
            let image =
                lookup(entries(service), "image").map_or_else(|| shown(service), |(_, i)| shown(i));
            let mut command = format!("docker run -d --name {name}");
            if let Some((_, ports)) = lookup(entries(service), "ports") {
                for (port, _) in string_list(ports).unwrap_or_default() {
                    command.push_str(&format!(" -p {port}"));
                }
            }
            if let Some((_, env)) = lookup(entries(service), "env") {
                for (k, v) in entries(env) {
                    match v.scalar_text().filter(|s| !s.contains("${{")) {
                        Some(text) => command.push_str(&format!(" -e {}={text}", key_name(k))),
                        None => command.push_str(&format!(" -e {}", key_name(k))),
                    }
                }
            }
            command.push(' ');
            command.push_str(&image);
            self.todo(
                name_key,
                format!("service container `{name}` ({image}) is not started by Slipway"),
                Some(format!(
                    "provide it on the agent, or start it in a first `run:` step: `{command}`"
                )),
            );
        }
    }

    /// `strategy`: the converted matrix, the names a `matrix.*` may read, and `fail-fast`.
    fn strategy(
        &mut self,
        key: &Node,
        strategy: &Node,
    ) -> (Option<Map>, Option<BTreeSet<String>>, Option<bool>) {
        let mut fail_fast = None;
        let mut max_parallel = None;
        let mut matrix = None;
        if !matches!(strategy.kind, NodeKind::Map(_)) {
            self.todo(
                key,
                "`strategy` must be a mapping; it was dropped".into(),
                None,
            );
        }
        for (k, v) in entries(strategy) {
            match key_name(k).as_str() {
                "matrix" => matrix = Some((k, v)),
                "fail-fast" => match v.kind {
                    NodeKind::Bool(b) => fail_fast = Some(b),
                    _ => self.todo(
                        k,
                        format!("`fail-fast: {}` is computed; Slipway's `fail-fast` is true or false, so it was dropped (default: true)", shown(v)),
                        None,
                    ),
                },
                "max-parallel" => match v.kind {
                    NodeKind::Int(n) if n >= 1 => max_parallel = Some(n),
                    _ => self.todo(k, format!("`max-parallel: {}` is not a whole number of at least 1; it was dropped", shown(v)), None),
                },
                other => self.todo(k, format!("unknown strategy key `{other}` was dropped"), None),
            }
        }
        let Some((matrix_key, matrix)) = matrix else {
            return (None, None, fail_fast);
        };
        match convert_matrix(matrix) {
            Ok((mut map, names)) => {
                if let Some(n) = max_parallel {
                    map.insert("max-parallel", Value::Number(n.to_string()));
                }
                (Some(map), Some(names), fail_fast)
            }
            Err(why) => {
                self.todo(
                    matrix_key,
                    format!("the matrix was not converted: {why}; the job runs once, without it"),
                    Some("list the axes and their values (strings, numbers or booleans) in the job's `matrix:`".into()),
                );
                (None, None, fail_fast)
            }
        }
    }

    /// An `env` mapping. `NAME: ${{ secrets.NAME }}` becomes the secret `NAME` (steps read
    /// secrets as environment variables of their own name); other values are translated.
    fn env(&mut self, node: &Node, scope: Scope, secrets: &mut BTreeSet<String>) -> Option<Map> {
        let NodeKind::Map(vars) = &node.kind else {
            self.todo(
                node,
                format!(
                    "`env: {}` is not a mapping of names to values; it was dropped",
                    shown(node)
                ),
                Some("list the variables one by one".into()),
            );
            return None;
        };
        let mut out = Map::default();
        for (key, value) in vars {
            let name = key_name(key);
            let text = match &value.kind {
                NodeKind::Null => String::new(),
                NodeKind::Seq(_) | NodeKind::Map(_) => {
                    self.todo(
                        key,
                        format!(
                            "`env.{name}` is {}, not a value; it was dropped",
                            value.type_name()
                        ),
                        None,
                    );
                    continue;
                }
                _ => value.scalar_text().unwrap_or_default(),
            };
            match translate::sole_secret(&text) {
                Some(secret) if secret == "GITHUB_TOKEN" => {
                    self.todo(
                        key,
                        format!("`env.{name}` reads `secrets.GITHUB_TOKEN`: Slipway jobs get no repository token; the variable was dropped"),
                        Some("create a token with the rights the job needs, declare it under `secrets:` and list it in the job's `secrets:`".into()),
                    );
                    self.show(format!("{name}: {text}"));
                    continue;
                }
                Some(secret) if secret == name => {
                    secrets.insert(name.clone());
                    self.secrets.insert(name.clone());
                    self.info(
                        key,
                        format!("`{name}` comes from the secret `{name}`, declared under `secrets:` (read from the agent's environment variable `{name}`) and listed in the job's `secrets:`"),
                    );
                    continue;
                }
                _ => {}
            }
            match translate::template(&text, scope) {
                Ok(translated) => {
                    self.remarks(value, translated.remarks);
                    out.insert(name, Value::Str(translated.text));
                }
                Err(problems) => {
                    self.problems(
                        key,
                        &format!("`env.{name}`"),
                        "the variable was dropped",
                        problems,
                    );
                    self.show(format!("{name}: {text}"));
                }
            }
        }
        (!out.is_empty()).then_some(out)
    }

    /// A job's steps; an `actions/cache` step becomes the job's `cache`.
    fn steps(
        &mut self,
        key: &Node,
        list: &Node,
        scope: &JobScope,
        defaults: &RunDefaults,
        secrets: &mut BTreeSet<String>,
        cache: &mut Option<Map>,
    ) -> Vec<Item> {
        let mut items = Vec::new();
        let NodeKind::Seq(steps) = &list.kind else {
            self.todo(key, "`steps` must be a list; it was dropped".into(), None);
            items.push(Item {
                comments: self.take_comments(),
                value: None,
            });
            return items;
        };
        for step in steps {
            let value = match &step.kind {
                NodeKind::Map(fields) => match (lookup(fields, "uses"), lookup(fields, "run")) {
                    (Some((uses_key, uses)), _) => {
                        self.action_step(fields, uses_key, uses, scope, cache)
                    }
                    (None, Some((_, run))) => {
                        Some(self.run_step(fields, run, scope, defaults, secrets))
                    }
                    (None, None) => {
                        self.todo(
                            step,
                            "a step has neither `run` nor `uses`; it was dropped".into(),
                            None,
                        );
                        None
                    }
                },
                _ => {
                    self.todo(
                        step,
                        format!(
                            "a step is {}, not a mapping; it was dropped",
                            step.type_name()
                        ),
                        None,
                    );
                    None
                }
            };
            items.push(Item {
                comments: self.take_comments(),
                value,
            });
        }
        items
    }

    fn run_step(
        &mut self,
        fields: &[(Node, Node)],
        run: &Node,
        scope: &JobScope,
        defaults: &RunDefaults,
        secrets: &mut BTreeSet<String>,
    ) -> Value {
        let mut out = Map::default();
        let get = |name: &str| lookup(fields, name);
        if let Some(name) = get("name").and_then(|(_, n)| n.scalar_text()) {
            // Step names are labels: translate what can be, keep the rest as written.
            let name = translate::template(&name, scope.at(Place::Job)).map_or(name, |t| t.text);
            out.insert("name", Value::Str(name));
        }
        if let Some(condition) =
            get("if").and_then(|(k, v)| self.condition(k, v, scope.at(Place::StepIf), "the step"))
        {
            out.insert("if", condition);
        }
        let mut shell = defaults.shell.clone();
        let mut working_directory = defaults.working_directory.clone();
        let mut env = None;
        let mut timeout = None;
        let mut continue_on_error = None;
        for (key, value) in fields {
            match key_name(key).as_str() {
                "name" | "if" | "run" => {}
                "shell" => shell = self.plain_setting(key, value, "shell"),
                "working-directory" => working_directory = self.plain_setting(key, value, "working-directory"),
                "env" => env = self.env(value, scope.at(Place::Job), secrets),
                "timeout-minutes" => timeout = self.timeout(key, value),
                "continue-on-error" => continue_on_error = self.continue_on_error(key, value),
                "id" => self.info(
                    key,
                    format!("step id `{}` was dropped: Slipway steps have no ids, so `steps.{}.*` cannot be read", shown(value), shown(value)),
                ),
                other => self.todo(key, format!("unknown step key `{other}` was dropped"), None),
            }
        }
        let script = run.scalar_text().unwrap_or_default();
        match translate::template(&script, scope.at(Place::Job)) {
            Ok(translated) => {
                self.remarks(run, translated.remarks);
                let defined: BTreeSet<String> = env
                    .iter()
                    .flat_map(|e| e.entries.iter().map(|v| v.key.clone()))
                    .chain(secrets.iter().cloned())
                    .collect();
                self.runner_variables(run, &script, &defined);
                out.insert("run", Value::Str(translated.text));
            }
            Err(problems) => {
                self.problems(
                    run,
                    "the step's `run`",
                    "the script was replaced by a placeholder that fails; the original is in the comment below",
                    problems,
                );
                self.show("run:".into());
                for line in script.lines() {
                    self.show(format!("  {line}"));
                }
                out.insert(
                    "run",
                    Value::Str(failing_command(
                        "rewrite this step, see the comment above it",
                    )),
                );
            }
        }
        if let Some(shell) = shell {
            out.insert("shell", Value::Str(shell));
        }
        if let Some(dir) = working_directory {
            out.insert("working-directory", Value::Str(dir));
        }
        if let Some(env) = env {
            out.insert("env", Value::Map(env));
        }
        if let Some(timeout) = timeout {
            out.insert("timeout", Value::Str(timeout));
        }
        if let Some(value) = continue_on_error {
            out.insert("continue-on-error", Value::Bool(value));
        }
        Value::Map(out)
    }

    /// Loads the converted pipeline as `slipway lint` would. Every conversion is meant to lint
    /// cleanly; an error left over is reported rather than handed over unnoticed.
    fn check_output(&mut self, pipeline_yaml: &str) {
        let loaded =
            slipway_pipeline::load("slipway.yml", pipeline_yaml, &slipway_pipeline::NoTemplates);
        for diagnostic in loaded.diagnostics.iter().filter(|d| d.is_error()) {
            let (line, column) = loaded
                .sources
                .get(diagnostic.span.source)
                .line_col(diagnostic.span.start as usize);
            self.notes.push(Note {
                line: 1,
                column: 1,
                kind: NoteKind::Untranslated,
                message: format!(
                    "the converted pipeline does not lint: line {line}, column {column} of the output: {}",
                    diagnostic.message
                ),
                suggestion: diagnostic.help.clone(),
            });
        }
    }

    /// GitHub's runner files and variables (`$GITHUB_OUTPUT`, `$GITHUB_ENV`, …) do not exist
    /// on a Slipway agent; a script that uses them needs rewriting.
    fn runner_variables(&mut self, run: &Node, script: &str, defined: &BTreeSet<String>) {
        let mut found: Vec<String> = Vec::new();
        let bytes = script.as_bytes();
        for (i, _) in script.match_indices('$') {
            let start = i + 1 + usize::from(bytes.get(i + 1) == Some(&b'{'));
            let len = script[start..]
                .bytes()
                .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
                .count();
            let name = &script[start..start + len];
            if (name.starts_with("GITHUB_") || name.starts_with("RUNNER_"))
                && !defined.contains(name)
                && !found.iter().any(|f| f == name)
            {
                found.push(name.to_string());
            }
        }
        if found.is_empty() {
            return;
        }
        let mut hints: Vec<&str> = Vec::new();
        for name in &found {
            let hint = match name.as_str() {
                "GITHUB_OUTPUT" => {
                    "write step results to a file in the workspace instead of `$GITHUB_OUTPUT`"
                }
                "GITHUB_ENV" => {
                    "export variables in the step that uses them, or set them under `env:`, instead of `$GITHUB_ENV`"
                }
                "GITHUB_PATH" => {
                    "extend `PATH` in the steps that need it instead of `$GITHUB_PATH`"
                }
                "GITHUB_STEP_SUMMARY" => {
                    "print the summary to the log instead of `$GITHUB_STEP_SUMMARY`"
                }
                "GITHUB_WORKSPACE" => {
                    "steps start in the workspace: use `$PWD` instead of `$GITHUB_WORKSPACE`"
                }
                "GITHUB_SHA" | "GITHUB_REF" | "GITHUB_REF_NAME" => {
                    "set the variable under the step's `env:` from `${{ event.sha }}`, `${{ event.ref }}` or `${{ event.branch }}`"
                }
                _ => "set the value under `env:` or compute it in the script",
            };
            if !hints.contains(&hint) {
                hints.push(hint);
            }
        }
        let names: Vec<String> = found.iter().map(|n| format!("`${n}`")).collect();
        self.todo(
            run,
            format!(
                "the script uses {}, which the Slipway agent does not provide",
                join_words(&names)
            ),
            Some(hints.join("; ")),
        );
    }
}

/// `Some(axis)` when the text is exactly `${{ matrix.axis }}`.
fn matrix_reference(text: &str) -> Option<String> {
    let inner = text.trim().strip_prefix("${{")?.strip_suffix("}}")?.trim();
    let axis = inner.strip_prefix("matrix.")?;
    axis.chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        .then(|| axis.to_string())
}

/// The values a matrix axis takes in a GitHub `strategy`, including `include` entries.
fn matrix_values(strategy: Option<&Node>, axis: &str) -> Vec<String> {
    let Some((_, matrix)) = strategy.and_then(|s| lookup(entries(s), "matrix")) else {
        return Vec::new();
    };
    let mut values: Vec<String> = Vec::new();
    if let Some((_, NodeKind::Seq(items))) =
        lookup(entries(matrix), axis).map(|(k, v)| (k, &v.kind))
    {
        values.extend(items.iter().filter_map(Node::scalar_text));
    }
    if let Some((_, include)) = lookup(entries(matrix), "include")
        && let NodeKind::Seq(items) = &include.kind
    {
        values.extend(
            items
                .iter()
                .filter_map(|entry| lookup(entries(entry), axis))
                .filter_map(|(_, v)| v.scalar_text()),
        );
    }
    values
}

/// Converts `strategy.matrix`: axes, `include` and `exclude`, all with scalar values.
/// Returns the matrix and the names `matrix.*` may read, or why it cannot be converted.
fn convert_matrix(matrix: &Node) -> Result<(Map, BTreeSet<String>), String> {
    let NodeKind::Map(fields) = &matrix.kind else {
        return Err(format!(
            "it is `{}`, computed when the workflow runs",
            shown(matrix)
        ));
    };
    let axes: Vec<String> = fields
        .iter()
        .map(|(k, _)| key_name(k))
        .filter(|k| k != "include" && k != "exclude")
        .collect();
    let mut out = Map::default();
    let mut names: BTreeSet<String> = axes.iter().cloned().collect();
    for (key, value) in fields {
        let name = key_name(key);
        let converted = match name.as_str() {
            "include" | "exclude" => Value::Seq(
                combinations(&name, value)?
                    .into_iter()
                    .map(|map| {
                        for entry in &map.entries {
                            if !axes.contains(&entry.key) {
                                unknown_axis(&name, &entry.key, &axes)?;
                                names.insert(entry.key.clone());
                            }
                        }
                        Ok(Item::value(Value::Map(map)))
                    })
                    .collect::<Result<_, String>>()?,
            ),
            _ => {
                let NodeKind::Seq(values) = &value.kind else {
                    return Err(format!(
                        "axis `{name}` is `{}`, not a list of values",
                        shown(value)
                    ));
                };
                if values.is_empty() {
                    return Err(format!("axis `{name}` has no values"));
                }
                let values = values
                    .iter()
                    .map(|v| {
                        matrix_value(v).map(Item::value).ok_or_else(|| {
                            format!("axis `{name}` has the value `{}`; Slipway matrix values are strings, numbers or booleans", shown(v))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Value::Seq(values)
            }
        };
        out.insert(name, converted);
    }
    Ok((out, names))
}

/// The entries of a matrix `include` or `exclude`, as flow mappings.
fn combinations(list_name: &str, value: &Node) -> Result<Vec<Map>, String> {
    let NodeKind::Seq(list) = &value.kind else {
        return Err(format!(
            "`{list_name}` is `{}`, not a list of combinations",
            shown(value)
        ));
    };
    list.iter()
        .map(|combination| {
            let NodeKind::Map(pairs) = &combination.kind else {
                return Err(format!("an `{list_name}` entry is `{}`, not a mapping", shown(combination)));
            };
            let mut map = Map {
                flow: true,
                ..Map::default()
            };
            for (k, v) in pairs {
                let value = matrix_value(v).ok_or_else(|| {
                    format!(
                        "`{list_name}` sets `{}` to `{}`; Slipway matrix values are strings, numbers or booleans",
                        key_name(k),
                        shown(v)
                    )
                })?;
                map.insert(key_name(k), value);
            }
            Ok(map)
        })
        .collect()
}

/// A key of `include` / `exclude` that is not an axis. `exclude` may name only axes; an
/// `include` key adds a value, unless it is so close to an axis name that Slipway's lint
/// reads it as a misspelling of that axis.
fn unknown_axis(list_name: &str, key: &str, axes: &[String]) -> Result<(), String> {
    if list_name == "exclude" {
        return Err(format!("`exclude` names `{key}`, which is not an axis"));
    }
    match slipway_pipeline::diagnostic::suggest(key, axes.iter().map(String::as_str)) {
        Some(axis) => Err(format!(
            "`include` adds `{key}`, which Slipway would take for a misspelling of the axis `{axis}`"
        )),
        None => Ok(()),
    }
}

fn matrix_value(node: &Node) -> Option<Value> {
    match &node.kind {
        NodeKind::Str(s, _) if !s.contains("${{") => Some(Value::Str(s.clone())),
        NodeKind::Int(n) => Some(Value::Number(n.to_string())),
        NodeKind::Float(f) if f.is_finite() => {
            Some(Value::Number(slipway_pipeline::expr::format_number(*f)))
        }
        NodeKind::Bool(b) => Some(Value::Bool(*b)),
        _ => None,
    }
}

/// A shell command that prints a TODO and fails, so an unconverted step cannot pass unnoticed.
fn failing_command(what: &str) -> String {
    // No `${{` may reach a script: Slipway would read it as an expression.
    let message = format!("TODO(slipway import): {}", what.replace("${{", "$ {{"));
    format!("echo '{}' >&2 && exit 1", message.replace('\'', "'\\''"))
}

/// A step that fails with a TODO: it stands where something could not be converted.
fn placeholder(name: Option<&str>, condition: Option<Value>, what: &str) -> Value {
    let mut step = Map::default();
    let label = match name {
        Some(name) => format!("{name} (TODO: {what})"),
        None => format!("TODO: {what}"),
    };
    step.insert("name", Value::Str(label));
    if let Some(condition) = condition {
        step.insert("if", condition);
    }
    step.insert("run", Value::Str(failing_command(what)));
    Value::Map(step)
}

fn placeholder_step(what: &str) -> Item {
    Item::value(placeholder(None, None, what))
}

/// The stage (cost class) a job most likely belongs to, from words in its id and name.
fn infer_stage(id: &str, name: Option<&str>) -> &'static str {
    const RULES: &[(&str, &[&str])] = &[
        (
            "integration",
            &["integration", "e2e", "smoke", "acceptance"],
        ),
        ("deploy", &["deploy", "release", "publish"]),
        (
            "scan",
            &[
                "audit", "scan", "security", "codeql", "analyze", "analyse", "vuln", "deny",
            ],
        ),
        (
            "validate",
            &[
                "fmt",
                "format",
                "rustfmt",
                "lint",
                "clippy",
                "check",
                "style",
                "typecheck",
            ],
        ),
        ("build", &["build", "compile", "package", "dist", "bundle"]),
        ("test", &["test", "unit", "spec", "coverage"]),
    ];
    let text = format!("{id} {}", name.unwrap_or_default()).to_ascii_lowercase();
    let words: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    RULES
        .iter()
        .find(|(_, prefixes)| {
            words
                .iter()
                .any(|w| prefixes.iter().any(|p| w.starts_with(p)))
        })
        .map_or("test", |(stage, _)| stage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_come_from_ids_and_names() {
        assert_eq!(infer_stage("fmt", None), "validate");
        assert_eq!(infer_stage("clippy", Some("Lints")), "validate");
        assert_eq!(infer_stage("integration-tests", None), "integration");
        assert_eq!(infer_stage("e2e", None), "integration");
        assert_eq!(
            infer_stage("build", Some("Build (${{ matrix.os }})")),
            "build"
        );
        assert_eq!(infer_stage("analyze", Some("CodeQL")), "scan");
        assert_eq!(infer_stage("publish-crate", None), "deploy");
        assert_eq!(infer_stage("unit", None), "test");
        assert_eq!(infer_stage("misc", Some("Docs")), "test");
    }

    #[test]
    fn failing_commands_quote_safely() {
        assert_eq!(
            failing_command("replace it's ${{ x }}"),
            "echo 'TODO(slipway import): replace it'\\''s $ {{ x }}' >&2 && exit 1"
        );
    }

    #[test]
    fn matrix_references() {
        assert_eq!(matrix_reference("${{ matrix.os }}").as_deref(), Some("os"));
        assert_eq!(
            matrix_reference(" ${{matrix.runner-os}} ").as_deref(),
            Some("runner-os")
        );
        assert_eq!(matrix_reference("ubuntu-latest"), None);
        assert_eq!(matrix_reference("${{ matrix.os }}-x"), None);
    }
}
