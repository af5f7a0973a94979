//! Loading a pipeline file: YAML, model, included templates, then the semantic checks.

use crate::diagnostic::{self, Code, Diagnostic};
use crate::model::Pipeline;
use crate::read::{FromNode, Reader};
use crate::source::{SourceFile, SourceId, SourceMap, Span};
use crate::yaml;

/// Templates may include templates; deeper chains are refused.
const MAX_INCLUDE_DEPTH: usize = 8;

/// Where an `include` entry points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateRef {
    /// A path relative to the repository root.
    Local(String),
    /// `git+URL//path@ref`.
    Git {
        url: String,
        path: String,
        reference: String,
    },
}

impl TemplateRef {
    pub fn parse(text: &str) -> Result<TemplateRef, String> {
        let Some(rest) = text.strip_prefix("git+") else {
            if text.trim().is_empty() {
                return Err("the template path is empty".into());
            }
            return Ok(TemplateRef::Local(text.to_string()));
        };
        let (location, reference) = rest
            .rsplit_once('@')
            .filter(|(location, _)| location.contains("//"))
            .ok_or("a git template needs a pinned ref: `git+URL//path@v1.2.3`")?;
        let after_scheme = location.find("://").map_or(0, |i| i + 3);
        let split = location[after_scheme..]
            .find("//")
            .map(|i| i + after_scheme)
            .ok_or("a git template names the file inside the repository after `//`: `git+URL//path@ref`")?;
        let (url, path) = (&location[..split], &location[split + 2..]);
        if url.is_empty() || path.is_empty() || reference.is_empty() {
            return Err("expected `git+URL//path@ref`".into());
        }
        Ok(TemplateRef::Git {
            url: url.to_string(),
            path: path.to_string(),
            reference: reference.to_string(),
        })
    }
}

/// Whether a git ref pins content: a release tag `vX.Y.Z` or a full 40-hex commit.
pub fn is_pinned(reference: &str) -> bool {
    let is_commit = reference.len() == 40 && reference.bytes().all(|b| b.is_ascii_hexdigit());
    let is_release = reference.strip_prefix('v').is_some_and(|version| {
        let core = version.split(['-', '+']).next().unwrap_or("");
        let parts: Vec<&str> = core.split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    });
    is_commit || is_release
}

/// A template's text, fetched by a [`TemplateResolver`].
#[derive(Clone, Debug)]
pub struct ResolvedTemplate {
    /// How diagnostics name the file.
    pub name: String,
    pub text: String,
    /// The commit a git template resolved to.
    pub revision: Option<String>,
}

/// Reads templates; the CLI supplies one that knows the repository and git.
pub trait TemplateResolver {
    fn resolve(&self, reference: &TemplateRef) -> Result<ResolvedTemplate, String>;
}

/// Resolves nothing: for callers that have no repository (fuzzing, schema tests).
pub struct NoTemplates;

impl TemplateResolver for NoTemplates {
    fn resolve(&self, _: &TemplateRef) -> Result<ResolvedTemplate, String> {
        Err("templates cannot be read here".into())
    }
}

/// A template that took part in the load, for provenance.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TemplateRecord {
    pub reference: String,
    pub name: String,
    pub revision: Option<String>,
    pub sha256: String,
}

/// The result of loading: the merged model, every file read, and every problem found.
#[derive(Debug)]
pub struct Loaded {
    pub pipeline: Pipeline,
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    pub templates: Vec<TemplateRecord>,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Loads a pipeline file and its templates and runs every check.
pub fn load(name: &str, text: &str, resolver: &dyn TemplateResolver) -> Loaded {
    let mut sources = SourceMap::default();
    let root = sources.add(SourceFile::new(name, text));
    let mut diagnostics = Vec::new();
    let mut templates = Vec::new();
    let (pipeline, parsed) = read_file(&sources, root, &mut diagnostics);
    let mut pipeline = pipeline.unwrap_or_default();
    if parsed {
        require_top_level(&mut pipeline, &sources, root, &mut diagnostics);
        let mut chain = Vec::new();
        merge_includes(
            &mut pipeline,
            resolver,
            &mut sources,
            &mut diagnostics,
            &mut templates,
            &mut chain,
        );
        crate::check::check(&pipeline, &mut diagnostics);
    }
    diagnostic::sort(&mut diagnostics);
    diagnostics.dedup();
    Loaded {
        pipeline,
        sources,
        diagnostics,
        templates,
    }
}

/// Reads one file into a model. The flag says whether the YAML parsed at all.
fn read_file(
    sources: &SourceMap,
    id: SourceId,
    diagnostics: &mut Vec<Diagnostic>,
) -> (Option<Pipeline>, bool) {
    let file = sources.get(id);
    let (tree, mut syntax) = yaml::parse(file, id);
    diagnostics.append(&mut syntax);
    let Some(tree) = tree else {
        return (None, false);
    };
    let mut reader = Reader::new(file);
    let pipeline = if matches!(tree.kind, yaml::NodeKind::Null) {
        Some(Pipeline::default())
    } else {
        Pipeline::from_node(&tree, &mut reader)
    };
    diagnostics.append(&mut reader.diagnostics);
    let mut pipeline = pipeline;
    if let Some(jobs) = pipeline.as_mut().and_then(|p| p.jobs.as_mut()) {
        for (key, job) in jobs.iter_mut() {
            job.id_span = key.span;
        }
    }
    (pipeline, true)
}

fn require_top_level(
    pipeline: &mut Pipeline,
    sources: &SourceMap,
    root: SourceId,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let start = Span::new(root, 0, sources.get(root).text.len().min(1));
    match &pipeline.version {
        None => diagnostics.push(
            Diagnostic::new(Code::MissingKey, start, "the pipeline has no `version`")
                .with_help("add `version: 1` as the first line"),
        ),
        Some(version) if version.value != 1 => diagnostics.push(
            Diagnostic::new(
                Code::UnsupportedVersion,
                version.span,
                format!("version {} is not supported", version.value),
            )
            .with_help("this Slipway reads `version: 1`"),
        ),
        Some(_) => {}
    }
    if pipeline.jobs.is_none() {
        diagnostics.push(
            Diagnostic::new(Code::MissingKey, start, "the pipeline has no `jobs`")
                .with_help("add a `jobs:` mapping with at least one job"),
        );
    }
}

fn merge_includes(
    pipeline: &mut Pipeline,
    resolver: &dyn TemplateResolver,
    sources: &mut SourceMap,
    diagnostics: &mut Vec<Diagnostic>,
    records: &mut Vec<TemplateRecord>,
    chain: &mut Vec<String>,
) {
    let Some(includes) = pipeline.include.take() else {
        return;
    };
    // Later templates override earlier ones; the including file overrides them all.
    let mut contributed = Pipeline::default();
    for include in &includes {
        let Some(template) = &include.template else {
            continue;
        };
        let Some(included) =
            load_template(template, resolver, sources, diagnostics, records, chain)
        else {
            continue;
        };
        overlay(&mut contributed, included);
    }
    let own = std::mem::take(pipeline);
    *pipeline = contributed;
    overlay(pipeline, own);
    pipeline.include = Some(includes);
}

fn load_template(
    template: &crate::spanned::Spanned<String>,
    resolver: &dyn TemplateResolver,
    sources: &mut SourceMap,
    diagnostics: &mut Vec<Diagnostic>,
    records: &mut Vec<TemplateRecord>,
    chain: &mut Vec<String>,
) -> Option<Pipeline> {
    let reference = match TemplateRef::parse(template) {
        Ok(reference) => reference,
        Err(why) => {
            diagnostics.push(
                Diagnostic::new(
                    Code::UnpinnedTemplate,
                    template.span,
                    format!("invalid template reference `{}`: {why}", template.value),
                )
                .with_help(
                    "write a repository path, or `git+https://host/repo.git//path/file.yml@v1.2.3`",
                ),
            );
            return None;
        }
    };
    if let TemplateRef::Git { reference: pin, .. } = &reference
        && !is_pinned(pin)
    {
        diagnostics.push(
            Diagnostic::new(Code::UnpinnedTemplate, template.span, format!("git template `{}` is not pinned: `{pin}` can move", template.value))
                .with_help("pin a release tag `vX.Y.Z` or a full 40-character commit; a branch name is not a pin"),
        );
        return None;
    }
    if chain.contains(&template.value) || chain.len() >= MAX_INCLUDE_DEPTH {
        diagnostics.push(
            Diagnostic::new(
                Code::TemplateUnavailable,
                template.span,
                format!(
                    "template `{}` includes itself, directly or through others",
                    template.value
                ),
            )
            .with_help(format!(
                "include chain: {} → {}",
                chain.join(" → "),
                template.value
            )),
        );
        return None;
    }
    let resolved = match resolver.resolve(&reference) {
        Ok(resolved) => resolved,
        Err(why) => {
            diagnostics.push(
                Diagnostic::new(
                    Code::TemplateUnavailable,
                    template.span,
                    format!("cannot read template `{}`: {why}", template.value),
                )
                .with_help(
                    "check the path (relative to the repository root) or the git URL and ref",
                ),
            );
            return None;
        }
    };
    records.push(TemplateRecord {
        reference: template.value.clone(),
        name: resolved.name.clone(),
        revision: resolved.revision.clone(),
        sha256: crate::digest::sha256_hex(resolved.text.as_bytes()),
    });
    let id = sources.add(SourceFile::new(resolved.name, resolved.text));
    let (included, _) = read_file(sources, id, diagnostics);
    let mut included = included?;
    for (key, present) in [
        ("on", included.on.is_some()),
        ("concurrency", included.concurrency.is_some()),
        ("environments", included.environments.is_some()),
        ("analysis", included.analysis.is_some()),
        ("name", included.name.is_some()),
    ] {
        if present {
            diagnostics.push(
                Diagnostic::new(Code::InvalidValue, Span::new(id, 0, 0), format!("template sets `{key}`, which only the including pipeline may set"))
                    .with_help("templates contribute `jobs`, `env`, `defaults`, `secrets` and `include`; move it to slipway.yml"),
            );
        }
    }
    chain.push(template.value.clone());
    merge_includes(
        &mut included,
        resolver,
        sources,
        diagnostics,
        records,
        chain,
    );
    chain.pop();
    Some(included)
}

/// Lays `top` over `base`: maps merge key by key, single values are replaced.
fn overlay(base: &mut Pipeline, top: Pipeline) {
    fn merge_map<T>(base: &mut Option<crate::model::Map<T>>, top: Option<crate::model::Map<T>>) {
        if let Some(top) = top {
            let base = base.get_or_insert_with(Default::default);
            for (key, value) in top {
                base.shift_remove(&key);
                base.insert(key, value);
            }
        }
    }
    merge_map(&mut base.jobs, top.jobs);
    merge_map(&mut base.env, top.env);
    merge_map(&mut base.secrets, top.secrets);
    merge_map(&mut base.environments, top.environments);
    merge_map(&mut base.analysis, top.analysis);
    match (&mut base.defaults, top.defaults) {
        (Some(base), Some(top)) => {
            base.timeout = top.timeout.or(base.timeout.take());
            base.shell = top.shell.or(base.shell.take());
            base.working_directory = top.working_directory.or(base.working_directory.take());
        }
        (base, top) => *base = top.or(base.take()),
    }
    base.version = top.version.or(base.version.take());
    base.name = top.name.or(base.name.take());
    base.on = top.on.or(base.on.take());
    base.concurrency = top.concurrency.or(base.concurrency.take());
    base.include = top.include.or(base.include.take());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_template_references() {
        assert_eq!(
            TemplateRef::parse("templates/rust.yml").unwrap(),
            TemplateRef::Local("templates/rust.yml".into())
        );
        assert_eq!(
            TemplateRef::parse("git+https://example.org/ci.git//rust.yml@v1.4.2").unwrap(),
            TemplateRef::Git {
                url: "https://example.org/ci.git".into(),
                path: "rust.yml".into(),
                reference: "v1.4.2".into()
            }
        );
        assert!(TemplateRef::parse("git+https://example.org/ci.git@v1").is_err());
        assert!(is_pinned("v1.4.2"));
        assert!(is_pinned("v1.4.2-rc.1"));
        assert!(is_pinned(&"a".repeat(40)));
        assert!(!is_pinned("main"));
        assert!(!is_pinned("v1"));
        assert!(!is_pinned("v1.2"));
        assert!(!is_pinned(&"a".repeat(39)));
    }
}
