//! Planning: which jobs (matrix expanded) a given event and change run, in which order, and
//! why the others are skipped.

use crate::expr::{NeedsStatus, Scope, Value};
use crate::matrix::{self, Combination};
use crate::model::{Job, Pipeline, RefFilter, Stage};
use crate::paths::{PathFilter, name_matches};
use indexmap::IndexMap;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Push,
    PullRequest,
    Schedule,
    Manual,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Push => "push",
            EventKind::PullRequest => "pull_request",
            EventKind::Schedule => "schedule",
            EventKind::Manual => "manual",
        }
    }
}

/// What happened: the input of a plan.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    pub kind: EventKind,
    /// Full ref, e.g. `refs/heads/main` or `refs/tags/v1.0.0`.
    pub git_ref: String,
    pub sha: String,
    pub actor: String,
    /// For pull requests: the target branch.
    pub base: Option<String>,
}

impl Event {
    pub fn branch(&self) -> Option<&str> {
        self.git_ref.strip_prefix("refs/heads/")
    }

    pub fn tag(&self) -> Option<&str> {
        self.git_ref.strip_prefix("refs/tags/")
    }

    /// The `event` context of expressions.
    pub fn context(&self) -> Value {
        let text = |s: &str| Value::String(s.to_string());
        let mut fields = IndexMap::new();
        fields.insert("name".to_string(), text(self.kind.as_str()));
        fields.insert("ref".to_string(), text(&self.git_ref));
        fields.insert(
            "branch".to_string(),
            self.branch().map_or(Value::Null, text),
        );
        fields.insert("sha".to_string(), text(&self.sha));
        fields.insert("actor".to_string(), text(&self.actor));
        fields.insert(
            "base".to_string(),
            self.base.as_deref().map_or(Value::Null, text),
        );
        Value::Object(fields)
    }
}

/// Why a job does not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    /// The pipeline's `on` does not take this event.
    EventFilter,
    /// No changed file concerns the job: it counts as satisfied for the jobs that need it.
    NotAffected,
    /// Its `if` is false (including because a need was skipped).
    Condition,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlannedJob {
    /// `unit (rust=stable)` for matrix jobs.
    pub id: String,
    /// The job's key in the file.
    pub job: String,
    pub matrix: Combination,
    pub stage: String,
    pub needs: Vec<String>,
    pub level: usize,
    pub runs: bool,
    pub skip_kind: Option<SkipKind>,
    pub skip_reason: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub jobs: Vec<PlannedJob>,
    pub critical_path: Vec<String>,
}

/// Inputs of a plan besides the pipeline.
pub struct PlanInput<'a> {
    pub event: &'a Event,
    /// Files changed by the commit(s) being planned; `None` when unknown, which makes every
    /// path filter match (never skip what might be affected).
    pub changed_files: Option<&'a [String]>,
}

/// Plans a pipeline that loaded without errors.
pub fn plan(pipeline: &Pipeline, input: &PlanInput) -> Plan {
    let pipeline_skip = event_filter(pipeline, input);
    let jobs = pipeline.jobs.clone().unwrap_or_default();
    let default_stage = Stage::Test;

    // Expand every job into its concrete instances.
    let mut instances: IndexMap<String, Vec<(String, Combination)>> = IndexMap::new();
    for (key, job) in &jobs {
        let list = match &job.matrix {
            Some(m) if !m.axes.is_empty() || m.include.is_some() => matrix::expand(m)
                .into_iter()
                .map(|c| (matrix::job_id(key, &c), c))
                .collect(),
            _ => vec![(key.name.clone(), Combination::new())],
        };
        instances.insert(key.name.clone(), list);
    }

    let order = topological_order(&jobs);
    let env_context = env_context(pipeline);
    let mut planned: IndexMap<String, PlannedJob> = IndexMap::new();
    for key in order {
        let job = &jobs[key.as_str()];
        let needs: Vec<String> = job
            .needs
            .iter()
            .flat_map(|n| n.iter())
            .flat_map(|need| {
                instances
                    .get(need.as_str())
                    .into_iter()
                    .flatten()
                    .map(|(id, _)| id.clone())
            })
            .collect();
        let level = needs
            .iter()
            .filter_map(|n| planned.get(n))
            .map(|p| p.level + 1)
            .max()
            .unwrap_or(0);
        for (id, combination) in instances[key.as_str()].clone() {
            let (skip_kind, skip_reason) = match &pipeline_skip {
                Some((kind, reason)) => (Some(*kind), Some(reason.clone())),
                None => decide(job, &combination, &needs, &planned, input, &env_context),
            };
            planned.insert(
                id.clone(),
                PlannedJob {
                    id,
                    job: key.clone(),
                    matrix: combination,
                    stage: job
                        .stage
                        .as_ref()
                        .map_or(default_stage, |s| s.value)
                        .as_str()
                        .to_string(),
                    needs: needs.clone(),
                    level,
                    runs: skip_kind.is_none(),
                    skip_kind,
                    skip_reason,
                },
            );
        }
    }
    let mut jobs: Vec<PlannedJob> = planned.into_values().collect();
    // Stable presentation: by level, then the order jobs were declared in.
    let declared: HashMap<String, usize> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.id.clone(), i))
        .collect();
    jobs.sort_by_key(|j| (j.level, declared[&j.id]));
    let critical_path = critical_path(&jobs);
    Plan {
        jobs,
        critical_path,
    }
}

fn env_context(pipeline: &Pipeline) -> IndexMap<String, Value> {
    pipeline
        .env
        .iter()
        .flatten()
        .map(|(k, v)| (k.name.clone(), Value::String(v.text.value.clone())))
        .collect()
}

/// Whether the pipeline takes the event at all; `Some` gives the reason it does not.
fn event_filter(pipeline: &Pipeline, input: &PlanInput) -> Option<(SkipKind, String)> {
    let on = pipeline.on.as_ref()?;
    let event = input.event;
    let skip = |reason: String| Some((SkipKind::EventFilter, reason));
    let filter: Option<&RefFilter> = match event.kind {
        EventKind::Push => on.push.as_ref(),
        EventKind::PullRequest => on.pull_request.as_ref(),
        EventKind::Schedule => {
            return on.schedule.is_none().then(|| {
                (
                    SkipKind::EventFilter,
                    "event filter: `on` has no `schedule`".to_string(),
                )
            });
        }
        EventKind::Manual => {
            return on.manual.is_none().then(|| {
                (
                    SkipKind::EventFilter,
                    "event filter: `on` has no `manual`".to_string(),
                )
            });
        }
    };
    let Some(filter) = filter else {
        return skip(format!(
            "event filter: `on` has no `{}`",
            event.kind.as_str()
        ));
    };
    let globs =
        |list: &Option<Vec<crate::spanned::Spanned<crate::model::Glob>>>| -> Option<Vec<String>> {
            list.as_ref()
                .map(|l| l.iter().map(|g| g.value.0.clone()).collect())
        };
    let (branches, tags) = (globs(&filter.branches), globs(&filter.tags));
    let target_branch = match event.kind {
        EventKind::PullRequest => event.base.as_deref().or(event.branch()),
        _ => event.branch(),
    };
    match (target_branch, event.tag()) {
        (Some(branch), _) if branches.is_some() || tags.is_none() => {
            if !name_matches(branches.as_deref(), branch) {
                return skip(format!(
                    "event filter: branch `{branch}` matches no `on.{}.branches`",
                    event.kind.as_str()
                ));
            }
        }
        (Some(branch), _) => {
            return skip(format!(
                "event filter: `on.{}` lists only tags, and `{branch}` is a branch",
                event.kind.as_str()
            ));
        }
        (None, Some(tag)) => {
            if tags.is_none() && branches.is_some() {
                return skip(format!(
                    "event filter: `on.{}` lists only branches, and `{tag}` is a tag",
                    event.kind.as_str()
                ));
            }
            if !name_matches(tags.as_deref(), tag) {
                return skip(format!(
                    "event filter: tag `{tag}` matches no `on.{}.tags`",
                    event.kind.as_str()
                ));
            }
        }
        (None, None) => {}
    }
    let path_filter = PathFilter::new(
        filter.paths.iter().flatten().map(|g| g.value.0.as_str()),
        filter
            .paths_ignore
            .iter()
            .flatten()
            .map(|g| g.value.0.as_str()),
    );
    if let Some(files) = input.changed_files
        && !path_filter.is_empty()
        && !path_filter.affected_by(files)
    {
        return Some((
            SkipKind::NotAffected,
            format!(
                "path filter: no changed file matches `on.{}` paths",
                event.kind.as_str()
            ),
        ));
    }
    None
}

fn decide(
    job: &Job,
    combination: &Combination,
    needs: &[String],
    planned: &IndexMap<String, PlannedJob>,
    input: &PlanInput,
    env_context: &IndexMap<String, Value>,
) -> (Option<SkipKind>, Option<String>) {
    let path_filter = PathFilter::new(
        job.paths.iter().flatten().map(|g| g.value.0.as_str()),
        job.paths_ignore
            .iter()
            .flatten()
            .map(|g| g.value.0.as_str()),
    );
    if let Some(files) = input.changed_files
        && !path_filter.is_empty()
        && !path_filter.affected_by(files)
    {
        let reason = if job.paths.is_some() {
            "not affected: no changed file matches `paths`"
        } else {
            "not affected: every changed file matches `paths-ignore`"
        };
        return (Some(SkipKind::NotAffected), Some(reason.to_string()));
    }

    let mut status = NeedsStatus::default();
    let mut skipped_need = None;
    let mut results = IndexMap::new();
    for need in needs {
        let Some(planned_need) = planned.get(need) else {
            continue;
        };
        let result = match planned_need.skip_kind {
            None | Some(SkipKind::NotAffected) => "success",
            Some(_) => {
                status.any_skipped = true;
                skipped_need.get_or_insert(need.clone());
                "skipped"
            }
        };
        let mut fields = IndexMap::new();
        fields.insert("result".to_string(), Value::String(result.to_string()));
        results.insert(planned_need.job.clone(), Value::Object(fields));
    }

    let mut scope = Scope {
        status: Some(status),
        ..Scope::default()
    };
    scope.contexts.insert("event".into(), input.event.context());
    scope.contexts.insert(
        "matrix".into(),
        Value::Object(
            combination
                .iter()
                .map(|(k, v)| (k.clone(), v.to_value()))
                .collect(),
        ),
    );
    let mut env = env_context.clone();
    for (name, value) in job.env.iter().flatten() {
        env.insert(name.name.clone(), Value::String(value.text.value.clone()));
    }
    scope.contexts.insert("env".into(), Value::Object(env));
    scope.contexts.insert("jobs".into(), Value::Object(results));

    match &job.condition {
        None if status.any_skipped => (
            Some(SkipKind::Condition),
            Some(format!(
                "need `{}` is skipped",
                skipped_need.unwrap_or_default()
            )),
        ),
        None => (None, None),
        Some(condition) => match scope.eval(&condition.expr) {
            Ok(value) if value.truthy() => (None, None),
            Ok(_) => (
                Some(SkipKind::Condition),
                Some(format!("if: `{}` is false", condition.text.value.trim())),
            ),
            // Decided only when the job starts (e.g. it hashes workspace files): plan it as running.
            Err(_) => (None, None),
        },
    }
}

/// Job keys in an order where every job comes after its needs (declaration order otherwise).
fn topological_order(jobs: &crate::model::Map<Job>) -> Vec<String> {
    let mut placed: IndexMap<String, ()> = IndexMap::new();
    let mut remaining: Vec<&str> = jobs.keys().map(|k| k.name.as_str()).collect();
    while !remaining.is_empty() {
        let before = remaining.len();
        remaining.retain(|id| {
            let ready = jobs[*id].needs.iter().flat_map(|n| n.iter()).all(|need| {
                placed.contains_key(need.as_str()) || !jobs.contains_key(need.as_str())
            });
            if ready {
                placed.insert(id.to_string(), ());
            }
            !ready
        });
        if remaining.len() == before {
            // A cycle: lint reports it; place the rest in declaration order.
            for id in remaining.drain(..) {
                placed.insert(id.to_string(), ());
            }
        }
    }
    placed.into_keys().collect()
}

/// The longest chain of running jobs through `needs`, measured in jobs.
fn critical_path(jobs: &[PlannedJob]) -> Vec<String> {
    let index: HashMap<&str, usize> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.id.as_str(), i))
        .collect();
    let mut best: Vec<(usize, Option<usize>)> = vec![(0, None); jobs.len()];
    // Jobs are sorted by level, so needs come before the jobs that need them.
    for (i, job) in jobs.iter().enumerate() {
        if !job.runs {
            continue;
        }
        let mut length = 1;
        let mut previous = None;
        for need in &job.needs {
            if let Some(&n) = index.get(need.as_str())
                && jobs[n].runs
                && best[n].0 + 1 > length
            {
                length = best[n].0 + 1;
                previous = Some(n);
            }
        }
        best[i] = (length, previous);
    }
    let Some(end) = (0..jobs.len())
        .filter(|&i| jobs[i].runs)
        .max_by_key(|&i| (best[i].0, std::cmp::Reverse(i)))
    else {
        return Vec::new();
    };
    let mut path = vec![jobs[end].id.clone()];
    let mut at = end;
    while let Some(previous) = best[at].1 {
        path.push(jobs[previous].id.clone());
        at = previous;
    }
    path.reverse();
    path
}

/// Graphviz rendering: skipped jobs dashed, the critical path bold.
pub fn to_dot(plan: &Plan) -> String {
    let escape = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let critical: std::collections::HashSet<&str> =
        plan.critical_path.iter().map(String::as_str).collect();
    let critical_edges: std::collections::HashSet<(&str, &str)> = plan
        .critical_path
        .windows(2)
        .map(|pair| (pair[0].as_str(), pair[1].as_str()))
        .collect();
    let mut out =
        String::from("digraph pipeline {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n");
    for job in &plan.jobs {
        // `\n` inside a DOT label is a line break, so it is written unescaped.
        let mut attrs = vec![format!(
            "label=\"{}\\n{}\"",
            escape(&job.id),
            escape(&job.stage)
        )];
        if !job.runs {
            attrs.push("style=\"rounded,dashed\"".into());
            attrs.push("color=gray50".into());
            attrs.push("fontcolor=gray50".into());
        } else if critical.contains(job.id.as_str()) {
            attrs.push("penwidth=2".into());
        }
        out.push_str(&format!(
            "  \"{}\" [{}];\n",
            escape(&job.id),
            attrs.join(", ")
        ));
    }
    for job in &plan.jobs {
        for need in &job.needs {
            let style = if critical_edges.contains(&(need.as_str(), job.id.as_str())) {
                " [penwidth=2]"
            } else {
                ""
            };
            out.push_str(&format!(
                "  \"{}\" -> \"{}\"{style};\n",
                escape(need),
                escape(&job.id)
            ));
        }
    }
    out.push_str("}\n");
    out
}
