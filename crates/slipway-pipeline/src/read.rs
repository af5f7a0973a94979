//! Reading the typed model out of the YAML node tree, collecting every problem on the way.

use crate::diagnostic::{Code, Diagnostic, suggest};
use crate::expr;
use crate::model::*;
use crate::source::{SourceFile, Span};
use crate::spanned::{Key, Spanned};
use crate::yaml::{Node, NodeKind};

/// Walks a node tree into model types; problems accumulate in `diagnostics`.
pub struct Reader<'a> {
    pub file: &'a SourceFile,
    pub diagnostics: Vec<Diagnostic>,
    path: Vec<String>,
}

/// Types that can be read from a node. `None` means the node was unusable and a diagnostic
/// says why.
pub trait FromNode: Sized {
    fn from_node(node: &Node, reader: &mut Reader) -> Option<Self>;
}

impl<'a> Reader<'a> {
    pub fn new(file: &'a SourceFile) -> Self {
        Reader {
            file,
            diagnostics: Vec::new(),
            path: Vec::new(),
        }
    }

    pub fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Where the reader is, as the user would write it: `jobs.build.steps[1].run`.
    pub fn location(&self) -> String {
        let mut out = String::new();
        for part in &self.path {
            if part.starts_with('[') || out.is_empty() {
                out.push_str(part);
            } else {
                out.push('.');
                out.push_str(part);
            }
        }
        out
    }

    fn within<T>(&mut self, part: String, read: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(part);
        let out = read(self);
        self.path.pop();
        out
    }

    pub fn type_error(&mut self, node: &Node, expected: &str) {
        let location = self.location();
        let mut diagnostic = Diagnostic::new(
            Code::WrongType,
            node.span,
            format!(
                "`{location}` must be {expected}, found {}",
                node.type_name()
            ),
        );
        if expected.contains("string")
            && matches!(
                node.kind,
                NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_)
            )
        {
            diagnostic = diagnostic.with_help("quote the value to make it a string");
        } else if expected.contains("list") && !matches!(node.kind, NodeKind::Map(_)) {
            diagnostic = diagnostic.with_help("write it as a list: `[item]` or `- item` lines");
        }
        self.report(diagnostic);
    }

    /// The entries of a mapping, without repeated keys (each repetition is reported).
    /// A null node reads as an empty mapping, so `push:` alone enables a trigger.
    pub fn mapping<'n>(&mut self, node: &'n Node, expected: &str) -> Option<Vec<(Key, &'n Node)>> {
        let entries = match &node.kind {
            NodeKind::Map(entries) => entries,
            NodeKind::Null => return Some(Vec::new()),
            _ => {
                self.type_error(node, expected);
                return None;
            }
        };
        let duplicate_code = if self.path == ["jobs"] {
            Code::DuplicateJob
        } else {
            Code::DuplicateKey
        };
        let mut out: Vec<(Key, &Node)> = Vec::with_capacity(entries.len());
        for (key_node, value) in entries {
            let Some(name) = key_node.scalar_text() else {
                self.report(
                    Diagnostic::new(
                        Code::WrongType,
                        key_node.span,
                        "mapping keys must be plain strings",
                    )
                    .with_help("use a string key such as `name:`"),
                );
                continue;
            };
            if let Some((first, _)) = out.iter().find(|(k, _)| k.name == name) {
                let (line, _) = self.file.line_col(first.span.start as usize);
                let what = if duplicate_code == Code::DuplicateJob {
                    "job id"
                } else {
                    "key"
                };
                self.report(
                    Diagnostic::new(duplicate_code, key_node.span, format!("duplicate {what} `{name}`, first defined on line {line}"))
                        .with_help(format!("remove one of the two, or rename this one; YAML would silently keep only one `{name}`")),
                );
                continue;
            }
            out.push((Key::new(name, key_node.span), value));
        }
        Some(out)
    }

    pub fn unknown_key(&mut self, key: &Key, known: &[&str]) {
        let location = self.location();
        let place = if location.is_empty() {
            "at the top level".to_string()
        } else {
            format!("in `{location}`")
        };
        let help = match suggest(&key.name, known.iter().copied()) {
            Some(close) => format!("did you mean `{close}`?"),
            None => format!("expected one of: {}", known.join(", ")),
        };
        self.report(
            Diagnostic::new(
                Code::UnknownKey,
                key.span,
                format!("unknown key `{}` {place}", key.name),
            )
            .with_help(help),
        );
    }

    pub fn field<S: Slot>(&mut self, key: &str, node: &Node, slot: &mut S) {
        self.within(key.to_string(), |r| slot.fill(node, r));
    }

    /// The file span of bytes `start..end` inside a string node's content, or the node's
    /// own span when the content does not map (escapes, block scalars).
    pub fn inner_span(
        &self,
        content: Option<Span>,
        fallback: Span,
        start: usize,
        end: usize,
    ) -> Span {
        match content {
            Some(content) => content.sub(start, end.saturating_sub(start).max(1)),
            None => fallback,
        }
    }
}

/// A struct field the reader can fill from a node.
pub trait Slot {
    fn fill(&mut self, node: &Node, reader: &mut Reader);
}

impl<T: FromNode> Slot for Option<T> {
    fn fill(&mut self, node: &Node, reader: &mut Reader) {
        *self = T::from_node(node, reader);
    }
}

impl<T: FromNode> FromNode for Vec<T> {
    fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
        let NodeKind::Seq(items) = &node.kind else {
            reader.type_error(node, "a list");
            return None;
        };
        Some(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| reader.within(format!("[{i}]"), |r| T::from_node(item, r)))
                .collect(),
        )
    }
}

impl<T: FromNode> FromNode for OneOrMany<T> {
    fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
        match node.kind {
            NodeKind::Seq(_) => Vec::from_node(node, reader).map(OneOrMany),
            _ => T::from_node(node, reader).map(|item| OneOrMany(vec![item])),
        }
    }
}

impl<T: FromNode> FromNode for Map<T> {
    fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
        let entries = reader.mapping(node, "a mapping")?;
        let mut out = Map::with_capacity(entries.len());
        for (key, value) in entries {
            if let Some(item) = reader.within(key.name.clone(), |r| T::from_node(value, r)) {
                out.insert(key, item);
            }
        }
        Some(out)
    }
}

impl FromNode for Spanned<String> {
    fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
        match node.as_str() {
            Some(s) => Some(Spanned::new(s.to_string(), node.span)),
            None => {
                reader.type_error(node, "a string");
                None
            }
        }
    }
}

impl FromNode for Spanned<bool> {
    fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
        match node.kind {
            NodeKind::Bool(b) => Some(Spanned::new(b, node.span)),
            _ => {
                reader.type_error(node, "`true` or `false`");
                None
            }
        }
    }
}

impl FromNode for Spanned<i64> {
    fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
        match node.kind {
            NodeKind::Int(i) => Some(Spanned::new(i, node.span)),
            _ => {
                reader.type_error(node, "a whole number");
                None
            }
        }
    }
}

impl FromNode for Spanned<f64> {
    fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
        match node.kind {
            NodeKind::Int(i) => Some(Spanned::new(i as f64, node.span)),
            NodeKind::Float(f) if f.is_finite() => Some(Spanned::new(f, node.span)),
            _ => {
                reader.type_error(node, "a number");
                None
            }
        }
    }
}

impl FromNode for Spanned<MatrixValue> {
    fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
        let value = match &node.kind {
            NodeKind::Str(s, _) => MatrixValue::String(s.clone()),
            NodeKind::Int(i) => MatrixValue::Number(*i as f64),
            NodeKind::Float(f) => MatrixValue::Number(*f),
            NodeKind::Bool(b) => MatrixValue::Bool(*b),
            _ => {
                reader.type_error(node, "a string, number or boolean");
                return None;
            }
        };
        Some(Spanned::new(value, node.span))
    }
}

/// Parses `90s`, `15m`, `1h30m`, `500ms`, `2d`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let mut total_ms: u128 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("expected a number at `{rest}`"));
        }
        let number: u128 = rest[..digits]
            .parse()
            .map_err(|_| "number too large".to_string())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit_ms: u128 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" if rest.is_empty() => return Err(format!("`{}` has no unit", &text.trim())),
            "" => {
                return Err(format!(
                    "expected a unit (ms, s, m, h, d) right after `{number}`"
                ));
            }
            other => return Err(format!("unknown unit `{other}`")),
        };
        total_ms = total_ms
            .checked_add(number.checked_mul(unit_ms).ok_or("duration too large")?)
            .ok_or("duration too large")?;
        rest = &rest[unit_len..];
    }
    let ms = u64::try_from(total_ms).map_err(|_| "duration too large".to_string())?;
    Ok(std::time::Duration::from_millis(ms))
}

pub fn format_duration(duration: std::time::Duration) -> String {
    let mut ms = duration.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

impl FromNode for Spanned<Duration> {
    fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
        let help = "write a number and a unit: `90s`, `15m`, `1h30m` (units: ms, s, m, h, d)";
        let text = match &node.kind {
            NodeKind::Str(s, _) => s.clone(),
            NodeKind::Int(i) => {
                let location = reader.location();
                reader.report(
                    Diagnostic::new(
                        Code::InvalidDuration,
                        node.span,
                        format!("`{location}`: duration `{i}` has no unit"),
                    )
                    .with_help(format!("write `{i}s` or `{i}m`")),
                );
                return None;
            }
            _ => {
                reader.type_error(node, "a duration such as `15m`");
                return None;
            }
        };
        match parse_duration(&text) {
            Ok(d) if d.is_zero() => {
                let location = reader.location();
                reader.report(
                    Diagnostic::new(
                        Code::InvalidDuration,
                        node.span,
                        format!("`{location}`: duration must be more than zero"),
                    )
                    .with_help(help),
                );
                None
            }
            Ok(d) => Some(Spanned::new(Duration(d), node.span)),
            Err(why) => {
                let location = reader.location();
                reader.report(
                    Diagnostic::new(
                        Code::InvalidDuration,
                        node.span,
                        format!("`{location}`: invalid duration `{text}`: {why}"),
                    )
                    .with_help(help),
                );
                None
            }
        }
    }
}

impl FromNode for Spanned<Glob> {
    fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
        let text = Spanned::<String>::from_node(node, reader)?;
        if let Err(error) = crate::paths::compile_glob(&text) {
            let location = reader.location();
            reader.report(
                Diagnostic::new(Code::InvalidGlob, node.span, format!("`{location}`: invalid glob `{}`: {error}", text.value))
                    .with_help("`*` matches within a path segment, `**` across segments, `{a,b}` alternatives, `[abc]` a character class"),
            );
            return None;
        }
        Some(Spanned::new(Glob(text.value), node.span))
    }
}

impl FromNode for Spanned<Cron> {
    fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
        let text = Spanned::<String>::from_node(node, reader)?;
        if let Err(error) = crate::schedule::parse_cron(&text) {
            let location = reader.location();
            reader.report(
                Diagnostic::new(Code::InvalidCron, node.span, format!("`{location}`: invalid cron `{}`: {error}", text.value))
                    .with_help("five fields, UTC: minute hour day-of-month month day-of-week, e.g. `0 3 * * 1-5`"),
            );
            return None;
        }
        Some(Spanned::new(Cron(text.value), node.span))
    }
}

macro_rules! read_enum {
    ($ty:ty, $what:literal, $code:expr, $all:expr) => {
        impl FromNode for Spanned<$ty> {
            fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
                let text = Spanned::<String>::from_node(node, reader)?;
                let all: &[(&str, $ty)] = $all;
                if let Some((_, value)) = all.iter().find(|(name, _)| *name == text.value) {
                    return Some(Spanned::new(*value, node.span));
                }
                let names: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
                let help = match suggest(&text, names.iter().copied()) {
                    Some(close) => format!(
                        "did you mean `{close}`? {} are: {}",
                        $what,
                        names.join(", ")
                    ),
                    None => format!("{} are: {}", $what, names.join(", ")),
                };
                let location = reader.location();
                reader.report(
                    Diagnostic::new(
                        $code,
                        node.span,
                        format!(
                            "`{location}`: unknown {} `{}`",
                            &$what[..$what.len() - 1],
                            text.value
                        ),
                    )
                    .with_help(help),
                );
                None
            }
        }
    };
}

read_enum!(Stage, "stages", Code::UnknownStage, Stage::ALL);
read_enum!(
    GateMode,
    "gate modes",
    Code::InvalidValue,
    &[
        ("block", GateMode::Block),
        ("warn", GateMode::Warn),
        ("off", GateMode::Off)
    ]
);
read_enum!(
    VulnerabilitySeverity,
    "severity levels",
    Code::InvalidValue,
    &[
        ("critical", VulnerabilitySeverity::Critical),
        ("high", VulnerabilitySeverity::High),
        ("medium", VulnerabilitySeverity::Medium),
        ("low", VulnerabilitySeverity::Low),
        ("unknown", VulnerabilitySeverity::Unknown)
    ]
);
read_enum!(
    SarifLevel,
    "levels",
    Code::InvalidValue,
    &[
        ("error", SarifLevel::Error),
        ("warning", SarifLevel::Warning),
        ("note", SarifLevel::Note)
    ]
);
read_enum!(
    SecretProvider,
    "providers",
    Code::InvalidValue,
    &[
        ("env", SecretProvider::Env),
        ("file", SecretProvider::File),
        ("vault", SecretProvider::Vault)
    ]
);
read_enum!(
    AnalysisProvider,
    "providers",
    Code::InvalidValue,
    &[
        ("proxy", AnalysisProvider::Proxy),
        ("prometheus", AnalysisProvider::Prometheus),
        ("web", AnalysisProvider::Web)
    ]
);

impl FromNode for Spanned<RetryOn> {
    fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
        let value = match &node.kind {
            NodeKind::Str(s, _) if s == "infra" => Some(RetryOn::Infra),
            NodeKind::Str(s, _) if s == "timeout" => Some(RetryOn::Timeout),
            NodeKind::Int(code) => u8::try_from(*code)
                .ok()
                .filter(|c| *c > 0)
                .map(RetryOn::ExitCode),
            _ => None,
        };
        if value.is_none() {
            let written = node
                .scalar_text()
                .unwrap_or_else(|| node.type_name().to_string());
            let help = match node.as_str().and_then(|s| suggest(s, ["infra", "timeout"])) {
                Some(close) => format!("did you mean `{close}`?"),
                None => "retry on `infra` (the step could not start or was killed), `timeout`, or an exit code from 1 to 255".into(),
            };
            reader.report(
                Diagnostic::new(
                    Code::InvalidRetryOn,
                    node.span,
                    format!("`retry.on` cannot retry on `{written}`"),
                )
                .with_help(help),
            );
        }
        value.map(|v| Spanned::new(v, node.span))
    }
}

impl FromNode for Template {
    fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
        let Some(text) = node.scalar_text() else {
            reader.type_error(node, "a string");
            return None;
        };
        let content = node.content_span(reader.file);
        let segments = match expr::parse_template(&text) {
            Ok(segments) => segments,
            Err(error) => {
                let span = reader.inner_span(content, node.span, error.start, error.end);
                let location = reader.location();
                reader.report(
                    Diagnostic::new(
                        Code::ExpressionSyntax,
                        span,
                        format!("`{location}`: invalid expression: {}", error.message),
                    )
                    .with_help_opt(error.help),
                );
                Vec::new()
            }
        };
        Some(Template {
            text: Spanned::new(text, node.span),
            segments,
            content,
        })
    }
}

impl FromNode for Condition {
    fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
        if let NodeKind::Bool(b) = node.kind {
            return Some(Condition {
                text: Spanned::new(b.to_string(), node.span),
                expr: expr::Expr {
                    kind: expr::ExprKind::Literal(expr::Value::Bool(b)),
                    start: 0,
                    end: 0,
                },
                content: None,
                offset: 0,
            });
        }
        let Some(text) = node.as_str() else {
            reader.type_error(node, "a condition (a string or a boolean)");
            return None;
        };
        let content = node.content_span(reader.file);
        match expr::parse_condition(text) {
            Ok((expr, offset)) => Some(Condition {
                text: Spanned::new(text.to_string(), node.span),
                expr,
                content,
                offset,
            }),
            Err(error) => {
                let span = reader.inner_span(content, node.span, error.start, error.end);
                let location = reader.location();
                reader.report(
                    Diagnostic::new(
                        Code::ExpressionSyntax,
                        span,
                        format!("`{location}`: invalid expression: {}", error.message),
                    )
                    .with_help_opt(error.help),
                );
                None
            }
        }
    }
}

/// Implements [`FromNode`] for a struct from the list of its keys. `span` names a field that
/// receives the node's span.
macro_rules! read_struct {
    ($ty:ident $(, span: $span:ident)? { $($key:literal => $field:ident),* $(,)? }) => {
        impl FromNode for $ty {
            fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
                let entries = reader.mapping(node, "a mapping")?;
                #[allow(unused_mut)]
                let mut out = Self::default();
                $( out.$span = node.span; )?
                #[allow(unused_variables)]
                for (key, value) in entries {
                    match key.name.as_str() {
                        $( $key => reader.field($key, value, &mut out.$field), )*
                        _ => reader.unknown_key(&key, &[$($key),*]),
                    }
                }
                Some(out)
            }
        }
    };
}

read_struct!(Pipeline {
    "version" => version, "name" => name, "on" => on, "concurrency" => concurrency,
    "defaults" => defaults, "env" => env, "include" => include, "jobs" => jobs,
    "secrets" => secrets, "environments" => environments, "analysis" => analysis,
    "retention" => retention, "gates" => gates,
});
read_struct!(Gates {
    "secrets" => secrets, "vulnerabilities" => vulnerabilities, "pins" => pins, "sarif" => sarif,
    "migrations" => migrations,
});
read_struct!(Retention {
    "keep-last" => keep_last, "pull-requests" => pull_requests, "production" => production,
    "production-releases" => production_releases,
});
read_struct!(Triggers { "push" => push, "pull_request" => pull_request, "schedule" => schedule, "manual" => manual });
read_struct!(RefFilter { "branches" => branches, "tags" => tags, "paths" => paths, "paths-ignore" => paths_ignore });
read_struct!(Manual {});
read_struct!(Concurrency { "group" => group, "cancel-in-progress" => cancel_in_progress });
read_struct!(Defaults { "timeout" => timeout, "shell" => shell, "working-directory" => working_directory });
read_struct!(Include { "template" => template });
read_struct!(Job {
    "stage" => stage, "needs" => needs, "if" => condition, "matrix" => matrix, "timeout" => timeout,
    "retry" => retry, "continue-on-error" => continue_on_error, "fail-fast" => fail_fast,
    "paths" => paths, "paths-ignore" => paths_ignore, "env" => env, "secrets" => secrets,
    "cache" => cache, "outputs" => outputs, "artifact" => artifact, "reports" => reports,
    "deploy" => deploy, "sandbox" => sandbox, "steps" => steps,
});
read_struct!(Retry { "max" => max, "backoff" => backoff, "on" => on });
read_struct!(Backoff { "initial" => initial, "factor" => factor, "max" => max });
read_struct!(Cache { "key" => key, "restore-keys" => restore_keys, "paths" => paths });
read_struct!(Artifact { "name" => name, "from" => from, "entrypoint" => entrypoint, "env" => env, "ports" => ports });
read_struct!(Reports { "junit" => junit, "sarif" => sarif });
read_struct!(Deploy { "environment" => environment });
read_struct!(Step, span: span {
    "name" => name, "run" => run, "shell" => shell, "working-directory" => working_directory,
    "env" => env, "timeout" => timeout, "if" => condition, "continue-on-error" => continue_on_error,
    "retry" => retry,
});
read_struct!(SecretSource { "from" => from, "name" => name, "path" => path, "field" => field });
read_struct!(Environment {
    "target" => target, "strategy" => strategy, "after" => after, "approval" => approval,
    "env" => env, "secrets" => secrets, "freeze" => freeze, "listen" => listen,
    "metrics-listen" => metrics_listen, "instances" => instances, "readiness" => readiness,
    "liveness" => liveness, "progress-deadline" => progress_deadline, "stickiness" => stickiness,
    "verify" => verify, "soak" => soak, "production" => production,
});
read_struct!(Probe {
    "path" => path, "interval" => interval, "timeout" => timeout, "initial-delay" => initial_delay,
    "success-threshold" => success_threshold, "failure-threshold" => failure_threshold,
});
read_struct!(Stickiness { "header" => header, "cookie" => cookie });
read_struct!(VerifyStep { "name" => name, "run" => run, "probe" => probe, "timeout" => timeout });
read_struct!(SyntheticProbe { "path" => path, "interval" => interval, "duration" => duration });
read_struct!(Approval { "required" => required, "exclude-author" => exclude_author });
read_struct!(FreezeWindow { "cron" => cron, "duration" => duration });
read_struct!(RollingOptions { "max-unavailable" => max_unavailable });
read_struct!(BlueGreenOptions {
    "scale-down-delay" => scale_down_delay, "pre-promotion-analysis" => pre_promotion_analysis,
    "post-promotion-analysis" => post_promotion_analysis,
});
read_struct!(CanaryOptions { "steps" => steps, "analysis" => analysis });
read_struct!(CanaryStep, span: span { "weight" => weight, "pause" => pause, "analysis" => analysis });
read_struct!(AnalysisRef { "use" => templates });
read_struct!(AnalysisTemplate {
    "provider" => provider, "metric" => metric, "query" => query, "url" => url, "address" => address,
    "json-path" => json_path, "success" => success, "failure" => failure, "interval" => interval, "count" => count,
    "failure-limit" => failure_limit, "inconclusive-limit" => inconclusive_limit,
    "consecutive-error-limit" => consecutive_error_limit, "min-samples" => min_samples,
    "compare" => compare, "confidence" => confidence, "args" => args,
});

impl FromNode for Matrix {
    fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
        let entries = reader.mapping(node, "a mapping of axes to lists of values")?;
        let mut out = Matrix::default();
        for (key, value) in entries {
            match key.name.as_str() {
                "include" => reader.field("include", value, &mut out.include),
                "exclude" => reader.field("exclude", value, &mut out.exclude),
                "max-parallel" => reader.field("max-parallel", value, &mut out.max_parallel),
                _ => {
                    let values: Option<Vec<Spanned<MatrixValue>>> =
                        reader.within(key.name.clone(), |r| match value.kind {
                            NodeKind::Seq(_) => Vec::from_node(value, r),
                            _ => {
                                r.type_error(value, "a list of values (a matrix axis)");
                                None
                            }
                        });
                    match values {
                        Some(values) if values.is_empty() => reader.report(
                            Diagnostic::new(
                                Code::InvalidValue,
                                value.span,
                                format!("matrix axis `{}` has no values", key.name),
                            )
                            .with_help("give the axis at least one value, or remove it"),
                        ),
                        Some(values) => {
                            out.axes.insert(key, values);
                        }
                        None => {}
                    }
                }
            }
        }
        Some(out)
    }
}

impl FromNode for Strategy {
    fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
        const NAMES: [&str; 3] = ["rolling", "blue-green", "canary"];
        if let Some(name) = node.as_str() {
            return match name {
                "rolling" => Some(Strategy::Rolling(RollingOptions::default())),
                "blue-green" => Some(Strategy::BlueGreen(BlueGreenOptions::default())),
                "canary" => {
                    reader.report(
                        Diagnostic::new(Code::MissingKey, node.span, "a canary strategy needs its steps")
                            .with_help("write `canary: { steps: [{ weight: 10 }, { pause: 60s }, { weight: 100 }] }`"),
                    );
                    None
                }
                other => {
                    let help = match suggest(other, NAMES) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => "strategies are: rolling, blue-green, canary".into(),
                    };
                    reader.report(
                        Diagnostic::new(
                            Code::InvalidValue,
                            node.span,
                            format!("unknown strategy `{other}`"),
                        )
                        .with_help(help),
                    );
                    None
                }
            };
        }
        let entries = reader.mapping(node, "a strategy name or a mapping")?;
        let mut strategy = None;
        for (key, value) in entries {
            let read = match key.name.as_str() {
                "rolling" => reader.within(key.name.clone(), |r| {
                    RollingOptions::from_node(value, r).map(Strategy::Rolling)
                }),
                "blue-green" => reader.within(key.name.clone(), |r| {
                    BlueGreenOptions::from_node(value, r).map(Strategy::BlueGreen)
                }),
                "canary" => reader.within(key.name.clone(), |r| {
                    CanaryOptions::from_node(value, r).map(Strategy::Canary)
                }),
                _ => {
                    reader.unknown_key(&key, &NAMES);
                    continue;
                }
            };
            if strategy.is_some() {
                reader.report(
                    Diagnostic::new(
                        Code::InvalidValue,
                        key.span,
                        "an environment has one strategy",
                    )
                    .with_help("keep one of `rolling`, `blue-green`, `canary`"),
                );
            } else {
                strategy = read;
            }
        }
        strategy
    }
}

/// Reads a gate written either as a plain mode (`block`, `warn`, `off`) or as a mapping of its
/// options.
macro_rules! read_gate {
    ($ty:ident { $($key:literal => $field:ident),* $(,)? }) => {
        impl FromNode for $ty {
            fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
                if node.as_str().is_some() {
                    let mode = Spanned::<GateMode>::from_node(node, reader)?;
                    return Some(Self { mode: Some(mode), ..Self::default() });
                }
                let entries = reader.mapping(node, "`block`, `warn`, `off` or a mapping")?;
                let mut out = Self::default();
                for (key, value) in entries {
                    match key.name.as_str() {
                        $( $key => reader.field($key, value, &mut out.$field), )*
                        _ => reader.unknown_key(&key, &[$($key),*]),
                    }
                }
                Some(out)
            }
        }
    };
}

read_gate!(VulnerabilityGate { "block" => block, "fixable-only" => fixable_only });
read_gate!(SarifGate { "block" => block });
read_gate!(MigrationGate { "mode" => mode, "dir" => dir });

impl FromNode for Pause {
    fn from_node(node: &Node, reader: &mut Reader) -> Option<Self> {
        match &node.kind {
            NodeKind::Map(entries) if entries.is_empty() => Some(Pause::UntilResumed),
            NodeKind::Null => Some(Pause::UntilResumed),
            _ => Spanned::<Duration>::from_node(node, reader).map(Pause::For),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip() {
        for (text, secs) in [("90s", 90), ("15m", 900), ("1h30m", 5400), ("2d", 172_800)] {
            let parsed = parse_duration(text).unwrap();
            assert_eq!(parsed.as_secs(), secs);
        }
        assert_eq!(format_duration(parse_duration("1h30m").unwrap()), "1h30m");
        assert_eq!(parse_duration("500ms").unwrap().as_millis(), 500);
        assert!(parse_duration("15").is_err());
        assert!(parse_duration("15 minutes").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("99999999999999999999999h").is_err());
    }
}
