//! GitHub Actions expressions → Slipway expressions.
//!
//! Both languages share a grammar (single-quoted strings, `&& || ! ==`, property access and
//! calls), so a GitHub expression parses with Slipway's parser; the translation rewrites the
//! tree: `github.*` becomes `event.*`, `needs.X.result` becomes `jobs.X.result`, and every
//! context or function Slipway does not have is collected as a [`Problem`].

use indexmap::IndexMap;
use slipway_pipeline::expr::{self, BinaryOp, Expr, ExprKind, Segment, Value};
use std::collections::BTreeSet;

/// Where an expression sits; decides which contexts and functions it may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Workflow-level `env` and `concurrency`: only `event` and `env`.
    Pipeline,
    /// A job's `if`: status functions, no `hashFiles()`.
    JobIf,
    /// A step's `if`: status functions and `hashFiles()`.
    StepIf,
    /// Job and step `env`, `run`, `working-directory`: `hashFiles()`, no status functions.
    Job,
    /// A cache key: like [`Place::Job`], and `runner.os` / `runner.arch` are dropped, since
    /// every job runs on the one Slipway agent.
    CacheKey,
}

/// What the expression's place can see.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    pub place: Place,
    /// Replaces `github.workflow`.
    pub workflow_name: &'a str,
    /// The job's direct needs: GitHub job id → Slipway job id.
    pub needs: &'a IndexMap<String, String>,
    /// The names of the job's converted matrix (axes and keys added by `include`).
    pub matrix: Option<&'a BTreeSet<String>>,
    /// The workflow runs on tag pushes, where `github.ref_name` is the tag.
    pub tag_pushes: bool,
}

/// Something in an expression Slipway cannot express.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The offending part, as written: `` `github.event.pull_request.title` ``.
    pub what: String,
    /// Why, and what to do instead.
    pub hint: String,
}

/// A translated text with remarks worth a Translated note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Translated {
    pub text: String,
    pub remarks: Vec<String>,
}

/// Translates an `if:` condition, bare or wrapped in `${{ }}`.
///
/// GitHub adds an implicit `success() &&` to conditions that call no status function; the
/// translation writes it out, so the job or step keeps waiting for its needs to succeed.
pub fn condition(text: &str, scope: Scope) -> Result<Translated, Vec<Problem>> {
    let (parsed, _) = expr::parse_condition(text).map_err(|error| {
        let hint = if error.message.contains("mixes") {
            "GitHub reads text around `${{ }}` in an `if` as a non-empty string, which is always true; write the whole condition in one `${{ }}`".to_string()
        } else {
            format!("the expression does not parse: {}", error.message)
        };
        vec![Problem {
            what: format!("`{}`", text.trim()),
            hint,
        }]
    })?;
    let mut rewriter = Rewriter::new(scope);
    let rewritten = rewriter.rewrite(&parsed);
    let rewritten = if calls_status_function(&rewritten) {
        rewritten
    } else {
        binary(BinaryOp::And, call("success", Vec::new()), rewritten)
    };
    rewriter.finish(print(&rewritten))
}

/// Translates a string that may hold `${{ }}` interpolations.
pub fn template(text: &str, scope: Scope) -> Result<Translated, Vec<Problem>> {
    if !text.contains("${{") {
        return Ok(Translated {
            text: text.to_string(),
            remarks: Vec::new(),
        });
    }
    let segments = expr::parse_template(text).map_err(|error| {
        vec![Problem {
            what: format!("`{}`", text.get(error.start..error.end).unwrap_or(text)),
            hint: format!("the expression does not parse: {}", error.message),
        }]
    })?;
    let mut rewriter = Rewriter::new(scope);
    let mut out = String::new();
    let mut trim_next_separator = false;
    for segment in &segments {
        match segment {
            Segment::Text(text) => {
                let text = match text.strip_prefix(SEPARATORS) {
                    Some(rest) if trim_next_separator => rest,
                    _ => text,
                };
                out.push_str(text);
                trim_next_separator = false;
            }
            Segment::Expr(parsed, _)
                if scope.place == Place::CacheKey && is_runner_platform(parsed) =>
            {
                // `${{ runner.os }}-cargo-…` → `cargo-…`: drop the value and one separator.
                if out.ends_with(SEPARATORS) {
                    out.pop();
                } else {
                    trim_next_separator = true;
                }
                rewriter.remark(format!(
                    "`{}` was removed from the cache key: every Slipway job runs on the same agent",
                    print(parsed)
                ));
            }
            Segment::Expr(parsed, _) => match rewriter.rewrite(parsed) {
                Expr {
                    kind: ExprKind::Literal(Value::String(literal)),
                    ..
                } if !literal.contains("${{") => out.push_str(&literal),
                rewritten => {
                    out.push_str("${{ ");
                    out.push_str(&print(&rewritten));
                    out.push_str(" }}");
                }
            },
        }
    }
    rewriter.finish(out)
}

/// `Some(NAME)` when the whole text is `${{ secrets.NAME }}`.
pub fn sole_secret(text: &str) -> Option<String> {
    let segments = expr::parse_template(text.trim()).ok()?;
    let [Segment::Expr(parsed, _)] = segments.as_slice() else {
        return None;
    };
    match expr::access_path(parsed)? {
        (root, path) if root == "secrets" && path.len() == 1 => Some(path[0].0.to_string()),
        _ => None,
    }
}

const SEPARATORS: [char; 3] = ['-', '_', '.'];

fn is_runner_platform(parsed: &Expr) -> bool {
    matches!(expr::access_path(parsed), Some((root, path))
        if root == "runner" && path.len() == 1 && matches!(path[0].0, "os" | "arch"))
}

fn calls_status_function(root: &Expr) -> bool {
    let mut found = false;
    expr::walk(root, &mut |node| {
        if let ExprKind::Call(name, _) = &node.kind {
            found |= expr::STATUS_FUNCTIONS.contains(&name.as_str());
        }
    });
    found
}

struct Rewriter<'a> {
    scope: Scope<'a>,
    problems: Vec<Problem>,
    remarks: Vec<String>,
}

impl<'a> Rewriter<'a> {
    fn new(scope: Scope<'a>) -> Self {
        Rewriter {
            scope,
            problems: Vec::new(),
            remarks: Vec::new(),
        }
    }

    fn problem(&mut self, what: String, hint: impl Into<String>) {
        let problem = Problem {
            what,
            hint: hint.into(),
        };
        if !self.problems.contains(&problem) {
            self.problems.push(problem);
        }
    }

    fn remark(&mut self, remark: String) {
        if !self.remarks.contains(&remark) {
            self.remarks.push(remark);
        }
    }

    fn finish(self, text: String) -> Result<Translated, Vec<Problem>> {
        if self.problems.is_empty() {
            Ok(Translated {
                text,
                remarks: self.remarks,
            })
        } else {
            Err(self.problems)
        }
    }

    fn rewrite(&mut self, node: &Expr) -> Expr {
        match &node.kind {
            ExprKind::Literal(_) => node.clone(),
            ExprKind::Context(_) | ExprKind::Property(..) | ExprKind::Index(..) => {
                self.access(node)
            }
            ExprKind::Call(name, args) => {
                let args = args.iter().map(|a| self.rewrite(a)).collect();
                self.call(name, args)
            }
            ExprKind::Not(inner) => {
                let inner = self.rewrite(inner);
                bare(ExprKind::Not(Box::new(inner)))
            }
            ExprKind::Binary(op, left, right) => {
                let mut left = self.rewrite(left);
                let mut right = self.rewrite(right);
                if matches!(op, BinaryOp::Eq | BinaryOp::Ne) {
                    self.event_name_literal(&left, &mut right);
                    self.event_name_literal(&right, &mut left);
                }
                // `github.head_ref || github.ref_name` maps both sides to `event.branch`.
                if matches!(op, BinaryOp::And | BinaryOp::Or) && print(&left) == print(&right) {
                    return left;
                }
                binary(*op, left, right)
            }
        }
    }

    /// A context access: `github.ref`, `needs.build.result`, `matrix['os']`.
    fn access(&mut self, node: &Expr) -> Expr {
        let Some((root, path)) = expr::access_path(node) else {
            // A computed access (`matrix[env.AXIS]`, `fromJSON(x).y`): rewrite its parts.
            return match &node.kind {
                ExprKind::Property(base, name) => {
                    let base = self.rewrite(base);
                    bare(ExprKind::Property(Box::new(base), name.clone()))
                }
                ExprKind::Index(base, index) => {
                    let base = self.rewrite(base);
                    let index = self.rewrite(index);
                    bare(ExprKind::Index(Box::new(base), Box::new(index)))
                }
                _ => node.clone(),
            };
        };
        let names: Vec<&str> = path.iter().map(|(name, _, _)| *name).collect();
        let written = std::iter::once(root)
            .chain(names.iter().copied())
            .collect::<Vec<_>>()
            .join(".");
        let what = format!("`{written}`");
        let first = names.first().map(|n| n.to_ascii_lowercase());
        match (
            root.to_ascii_lowercase().as_str(),
            first.as_deref(),
            names.len(),
        ) {
            ("github", Some("ref_name"), 1) if self.scope.tag_pushes => {
                self.problem(
                    what,
                    "on a tag push `github.ref_name` is the tag, and Slipway's `event.branch` is empty: set `REF: ${{ event.ref }}` under `env:` and use `${REF#refs/tags/}` in the script",
                );
                node.clone()
            }
            ("github", Some(field), 1) => match github_field(field) {
                Some(GithubField::Event(event_field)) => {
                    if let Some(remark) = github_remark(field) {
                        self.remark(remark.to_string());
                    }
                    context("event", &[event_field])
                }
                Some(GithubField::WorkflowName) => {
                    self.remark(format!(
                        "`github.workflow` was replaced by the workflow's name '{}'",
                        self.scope.workflow_name
                    ));
                    literal(self.scope.workflow_name)
                }
                None => {
                    self.problem(what, GITHUB_HINT);
                    node.clone()
                }
            },
            ("github", ..) => {
                self.problem(what, GITHUB_HINT);
                node.clone()
            }
            ("needs", Some(_), 2) if names[1] == "result" => match self.scope.needs.get(names[0]) {
                Some(id) => context("jobs", &[id, "result"]),
                None => {
                    self.problem(
                        what,
                        format!("`{}` is not among the job's `needs`", names[0]),
                    );
                    node.clone()
                }
            },
            ("needs", ..) => {
                self.problem(what, "Slipway hands files, not values, between jobs: write the value to a file listed in the needed job's `outputs:` and read it in this job");
                node.clone()
            }
            ("matrix", _, _) if matches!(self.scope.place, Place::Pipeline) => {
                self.problem(what, "`matrix` can only be read inside a job");
                node.clone()
            }
            ("matrix", field, len) => match (self.scope.matrix, field) {
                (None, _) => {
                    self.problem(
                        what,
                        "the job's matrix could not be converted (see its note)",
                    );
                    node.clone()
                }
                (Some(axes), Some(_)) if len == 1 && axes.contains(names[0]) => {
                    context("matrix", &names)
                }
                (Some(_), _) => {
                    self.problem(what, "not a name of the job's converted matrix");
                    node.clone()
                }
            },
            ("env", _, _) => context("env", &names),
            (other, ..) => {
                self.problem(what, context_hint(other));
                node.clone()
            }
        }
    }

    fn call(&mut self, name: &str, args: Vec<Expr>) -> Expr {
        // GitHub's function names are case-insensitive; Slipway's are not.
        let canonical = expr::FUNCTIONS
            .iter()
            .map(|(f, _)| *f)
            .find(|f| f.eq_ignore_ascii_case(name));
        let place = self.scope.place;
        match canonical {
            None => self.problem(
                format!("`{name}()`"),
                "Slipway expressions have success(), failure(), always(), cancelled(), startsWith(), endsWith(), contains() and hashFiles(); compute anything else in a `run:` step",
            ),
            Some(f) if expr::STATUS_FUNCTIONS.contains(&f) && !matches!(place, Place::JobIf | Place::StepIf) => {
                self.problem(format!("`{f}()`"), "status functions can only be used in an `if`")
            }
            Some("hashFiles") if matches!(place, Place::Pipeline | Place::JobIf) => self.problem(
                "`hashFiles()`".into(),
                "`hashFiles()` reads the job's workspace: use it in steps, job `env` or `cache`",
            ),
            Some(_) => {}
        }
        call(canonical.unwrap_or(name), args)
    }

    /// `event.name == 'workflow_dispatch'` → `event.name == 'manual'`. A comparison with an
    /// event Slipway does not have would silently never (or always) hold, so it is a problem.
    fn event_name_literal(&mut self, side: &Expr, other: &mut Expr) {
        let is_event_name = matches!(&side.kind, ExprKind::Property(base, name)
            if name == "name" && matches!(&base.kind, ExprKind::Context(root) if root == "event"));
        let ExprKind::Literal(Value::String(event)) = &mut other.kind else {
            return;
        };
        if !is_event_name {
            return;
        }
        match event.as_str() {
            "push" | "pull_request" | "schedule" => {}
            "workflow_dispatch" => *event = "manual".into(),
            unknown => {
                let what = format!("`github.event_name` compared with '{unknown}'");
                self.problem(
                    what,
                    "Slipway's events are push, pull_request, schedule and manual",
                );
            }
        }
    }
}

enum GithubField {
    Event(&'static str),
    WorkflowName,
}

fn github_field(field: &str) -> Option<GithubField> {
    Some(GithubField::Event(match field {
        "ref" => "ref",
        "sha" => "sha",
        "actor" | "triggering_actor" => "actor",
        "event_name" => "name",
        "ref_name" | "head_ref" => "branch",
        "base_ref" => "base",
        "workflow" => return Some(GithubField::WorkflowName),
        _ => return None,
    }))
}

/// Where `event.*` differs from the `github.*` field it replaces.
fn github_remark(field: &str) -> Option<&'static str> {
    match field {
        "ref_name" => Some(
            "`github.ref_name` became `event.branch`, which is empty for tag pushes (read the tag from `event.ref`)",
        ),
        "head_ref" => Some(
            "`github.head_ref` became `event.branch`, which is also set for pushes, not only for pull requests",
        ),
        _ => None,
    }
}

const GITHUB_HINT: &str = "Slipway's `event` has name, ref, branch, sha, actor and base; read anything else in a `run:` step (e.g. with git)";

fn context_hint(root: &str) -> String {
    match root {
        "secrets" => "declare the secret under the top-level `secrets:` and list it in the job's `secrets:`; steps read it as the environment variable `$NAME`".into(),
        "inputs" => "Slipway's manual runs take no inputs; use an `env:` value instead".into(),
        "vars" => "put the value in `env:`".into(),
        "steps" => "Slipway steps have no ids or outputs: write the value to a file in the workspace and read it in the later step".into(),
        "runner" => "read it in the shell instead (`uname -s`, `mktemp -d`)".into(),
        "job" | "strategy" => "Slipway does not expose this; drop it or compute it in a `run:` step".into(),
        other => format!("Slipway has no `{other}` context; expressions read event, matrix, env and jobs"),
    }
}

fn bare(kind: ExprKind) -> Expr {
    Expr {
        kind,
        start: 0,
        end: 0,
    }
}

fn literal(text: &str) -> Expr {
    bare(ExprKind::Literal(Value::String(text.to_string())))
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    bare(ExprKind::Call(name.to_string(), args))
}

fn binary(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    bare(ExprKind::Binary(op, Box::new(left), Box::new(right)))
}

/// `root.a.b`, with `['…']` for names that are not identifiers.
fn context(root: &str, path: &[&str]) -> Expr {
    path.iter()
        .fold(bare(ExprKind::Context(root.to_string())), |base, name| {
            if is_identifier(name) {
                bare(ExprKind::Property(Box::new(base), name.to_string()))
            } else {
                bare(ExprKind::Index(Box::new(base), Box::new(literal(name))))
            }
        })
}

fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !matches!(name, "true" | "false" | "null")
}

fn precedence(node: &Expr) -> u8 {
    match &node.kind {
        ExprKind::Binary(op, ..) => match op {
            BinaryOp::Or => 1,
            BinaryOp::And => 2,
            BinaryOp::Eq | BinaryOp::Ne => 3,
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => 4,
        },
        ExprKind::Not(_) => 5,
        _ => 6,
    }
}

/// Writes an expression as Slipway expression text, with only the parentheses it needs.
pub fn print(node: &Expr) -> String {
    let mut out = String::new();
    write(node, &mut out);
    out
}

fn write(node: &Expr, out: &mut String) {
    let operand = |child: &Expr, parens: bool, out: &mut String| {
        if parens {
            out.push('(');
        }
        write(child, out);
        if parens {
            out.push(')');
        }
    };
    match &node.kind {
        ExprKind::Literal(value) => match value {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(&b.to_string()),
            Value::Number(n) => out.push_str(&expr::format_number(*n)),
            Value::String(s) => {
                out.push('\'');
                out.push_str(&s.replace('\'', "''"));
                out.push('\'');
            }
            // Not produced by the parser; written as the empty string they interpolate to.
            Value::Array(_) | Value::Object(_) => out.push_str("''"),
        },
        ExprKind::Context(name) => out.push_str(name),
        ExprKind::Property(base, name) => {
            operand(base, precedence(base) < 6, out);
            out.push('.');
            out.push_str(name);
        }
        ExprKind::Index(base, index) => {
            operand(base, precedence(base) < 6, out);
            out.push('[');
            write(index, out);
            out.push(']');
        }
        ExprKind::Call(name, args) => {
            out.push_str(name);
            out.push('(');
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(arg, out);
            }
            out.push(')');
        }
        ExprKind::Not(inner) => {
            out.push('!');
            operand(inner, precedence(inner) < 5, out);
        }
        ExprKind::Binary(op, left, right) => {
            let own = precedence(node);
            // Operators associate to the left: a right operand of equal precedence needs
            // parentheses, except under `&&` / `||`, whose grouping does not change the value.
            let associative = matches!(&right.kind, ExprKind::Binary(inner, ..) if inner == op && matches!(op, BinaryOp::And | BinaryOp::Or));
            operand(left, precedence(left) < own, out);
            out.push_str(match op {
                BinaryOp::Or => " || ",
                BinaryOp::And => " && ",
                BinaryOp::Eq => " == ",
                BinaryOp::Ne => " != ",
                BinaryOp::Lt => " < ",
                BinaryOp::Le => " <= ",
                BinaryOp::Gt => " > ",
                BinaryOp::Ge => " >= ",
            });
            operand(
                right,
                precedence(right) < own || (precedence(right) == own && !associative),
                out,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs() -> IndexMap<String, String> {
        IndexMap::from([
            ("build".to_string(), "build".to_string()),
            ("unit.test".to_string(), "unit_test".to_string()),
        ])
    }

    fn with_scope<T>(place: Place, run: impl FnOnce(Scope) -> T) -> T {
        let needs = needs();
        let axes = BTreeSet::from(["os".to_string(), "node-version".to_string()]);
        run(Scope {
            place,
            workflow_name: "CI",
            needs: &needs,
            matrix: Some(&axes),
            tag_pushes: false,
        })
    }

    fn job_if(text: &str) -> Result<String, Vec<Problem>> {
        with_scope(Place::JobIf, |scope| condition(text, scope).map(|t| t.text))
    }

    fn problems(text: &str) -> Vec<String> {
        job_if(text)
            .unwrap_err()
            .into_iter()
            .map(|p| p.what)
            .collect()
    }

    #[test]
    fn conditions_map_contexts_and_spell_out_implicit_success() {
        assert_eq!(
            job_if("github.ref == 'refs/heads/main'").unwrap(),
            "success() && event.ref == 'refs/heads/main'"
        );
        assert_eq!(
            job_if("${{ github.event_name == 'push' }}").unwrap(),
            "success() && event.name == 'push'"
        );
        assert_eq!(
            job_if("github.event_name != 'workflow_dispatch'").unwrap(),
            "success() && event.name != 'manual'"
        );
        assert_eq!(
            job_if("${{ always() && needs.build.result == 'failure' }}").unwrap(),
            "always() && jobs.build.result == 'failure'"
        );
        assert_eq!(
            job_if("needs['unit.test'].result == 'success'").unwrap(),
            "success() && jobs.unit_test.result == 'success'"
        );
        assert_eq!(
            job_if("startswith(github.ref, 'refs/tags/') || github.base_ref == 'main'").unwrap(),
            "success() && (startsWith(event.ref, 'refs/tags/') || event.base == 'main')"
        );
        assert_eq!(
            job_if("github.head_ref || github.ref_name").unwrap(),
            "success() && event.branch"
        );
        assert_eq!(
            job_if("!cancelled() && matrix.os != 'windows-latest'").unwrap(),
            "!cancelled() && matrix.os != 'windows-latest'"
        );
        assert_eq!(
            job_if("matrix['node-version'] == 20").unwrap(),
            "success() && matrix.node-version == 20"
        );
        assert_eq!(job_if("true").unwrap(), "success() && true");
        assert_eq!(
            job_if("contains(github.actor, 'bot') == false").unwrap(),
            "success() && contains(event.actor, 'bot') == false"
        );
        assert_eq!(
            job_if("env.DEPLOY == 'yes'").unwrap(),
            "success() && env.DEPLOY == 'yes'"
        );
    }

    #[test]
    fn untranslatable_conditions_name_every_problem() {
        assert_eq!(
            problems("github.event.pull_request.draft == false"),
            ["`github.event.pull_request.draft`"]
        );
        assert_eq!(
            problems("secrets.TOKEN != '' && inputs.deploy"),
            ["`secrets.TOKEN`", "`inputs.deploy`"]
        );
        assert_eq!(
            problems("contains(fromJSON('[\"a\"]'), vars.X)"),
            ["`fromJSON()`", "`vars.X`"]
        );
        assert_eq!(
            problems("steps.cache.outputs.cache-hit != 'true'"),
            ["`steps.cache.outputs.cache-hit`"]
        );
        assert_eq!(
            problems("needs.deploy.result == 'success'"),
            ["`needs.deploy.result`"]
        );
        assert_eq!(
            problems("needs.build.outputs.version == '1'"),
            ["`needs.build.outputs.version`"]
        );
        assert_eq!(
            problems("github.event_name == 'release'"),
            ["`github.event_name` compared with 'release'"]
        );
        assert_eq!(problems("hashFiles('x') != ''"), ["`hashFiles()`"]);
        assert_eq!(problems("matrix.rust == 'nightly'"), ["`matrix.rust`"]);
        assert_eq!(
            problems("${{ github.ref }} == 'x'"),
            ["`${{ github.ref }} == 'x'`"]
        );
        assert_eq!(problems("runner.os == 'Linux'"), ["`runner.os`"]);
        assert!(problems("github.ref == \"x\"")[0].contains("github.ref"));
    }

    #[test]
    fn printing_keeps_meaning_with_minimal_parentheses() {
        for text in [
            "a || b && c",
            "(a || b) && c",
            "!(a == b)",
            "!a == b",
            "a == (b == c)",
            "(a == b) == c",
            "a || (b || c) || d",
            "x['not an identifier'] != 'it''s'",
            "f(1.5, -2, null, true)",
            "!!a",
        ] {
            let parsed = expr::parse(text).unwrap();
            let printed = print(&parsed);
            let reparsed = expr::parse(&printed).unwrap();
            assert_eq!(print(&reparsed), printed, "{text}");
            if !text.contains("(b || c)") {
                assert_eq!(
                    strip_spans(&reparsed),
                    strip_spans(&parsed),
                    "{text} printed as {printed}"
                );
            }
        }
        assert_eq!(print(&expr::parse("a && (b && c)").unwrap()), "a && b && c");
        assert_eq!(
            print(&expr::parse("a && (b || c)").unwrap()),
            "a && (b || c)"
        );
        assert_eq!(
            print(&expr::parse("(a || b) && c").unwrap()),
            "(a || b) && c"
        );
        assert_eq!(print(&expr::parse("((a)) && (b)").unwrap()), "a && b");
    }

    fn strip_spans(node: &Expr) -> Expr {
        let kind = match &node.kind {
            ExprKind::Property(base, name) => {
                ExprKind::Property(Box::new(strip_spans(base)), name.clone())
            }
            ExprKind::Index(base, index) => {
                ExprKind::Index(Box::new(strip_spans(base)), Box::new(strip_spans(index)))
            }
            ExprKind::Call(name, args) => {
                ExprKind::Call(name.clone(), args.iter().map(strip_spans).collect())
            }
            ExprKind::Not(inner) => ExprKind::Not(Box::new(strip_spans(inner))),
            ExprKind::Binary(op, l, r) => {
                ExprKind::Binary(*op, Box::new(strip_spans(l)), Box::new(strip_spans(r)))
            }
            other => other.clone(),
        };
        bare(kind)
    }

    #[test]
    fn templates_translate_each_interpolation() {
        let job = |text: &str| with_scope(Place::Job, |scope| template(text, scope));
        assert_eq!(job("cargo test").unwrap().text, "cargo test");
        assert_eq!(
            job("echo ${{ github.sha }} ${{ matrix.os }}").unwrap().text,
            "echo ${{ event.sha }} ${{ matrix.os }}"
        );
        let group = job("${{ github.workflow }}-${{ github.ref }}").unwrap();
        assert_eq!(group.text, "CI-${{ event.ref }}");
        assert_eq!(group.remarks.len(), 1);
        assert!(job("echo ${{ success() }}").is_err());
        assert!(job("echo ${{ github.event.issue.labels.*.name }}").is_err());
        let pipeline = |text: &str| {
            let needs = IndexMap::new();
            template(
                text,
                Scope {
                    place: Place::Pipeline,
                    workflow_name: "CI",
                    needs: &needs,
                    matrix: None,
                    tag_pushes: true,
                },
            )
        };
        assert!(pipeline("${{ matrix.os }}").is_err());
        assert!(pipeline("${{ hashFiles('a') }}").is_err());
        assert_eq!(
            pipeline("${{ github.head_ref || github.ref }}")
                .unwrap()
                .text,
            "${{ event.branch || event.ref }}"
        );
        // With tag pushes, `github.ref_name` may be a tag, which `event.branch` never is.
        assert!(pipeline("${{ github.ref_name }}").is_err());
    }

    #[test]
    fn cache_keys_drop_the_runner_platform() {
        let key = |text: &str| {
            with_scope(Place::CacheKey, |scope| {
                template(text, scope).map(|t| t.text)
            })
        };
        assert_eq!(
            key("${{ runner.os }}-cargo-${{ hashFiles('**/Cargo.lock') }}").unwrap(),
            "cargo-${{ hashFiles('**/Cargo.lock') }}"
        );
        assert_eq!(
            key("cargo-${{ runner.os }}-${{ matrix.os }}").unwrap(),
            "cargo-${{ matrix.os }}"
        );
        assert_eq!(key("${{ runner.os }}-cargo-").unwrap(), "cargo-");
        assert!(key("${{ runner.temp }}").is_err());
    }

    #[test]
    fn recognises_a_whole_secret() {
        assert_eq!(
            sole_secret("${{ secrets.NPM_TOKEN }}").as_deref(),
            Some("NPM_TOKEN")
        );
        assert_eq!(sole_secret(" ${{ secrets.X }} ").as_deref(), Some("X"));
        assert_eq!(sole_secret("Bearer ${{ secrets.X }}"), None);
        assert_eq!(sole_secret("${{ github.token }}"), None);
    }
}
