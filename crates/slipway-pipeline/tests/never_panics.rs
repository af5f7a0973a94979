//! Property tests: loading a pipeline, locating its diagnostics, planning it, and parsing or
//! evaluating expressions never panic, whatever the input. The cargo-fuzz targets in `fuzz/`
//! drive the same entry points for much longer; these keep a cheap version of the guarantee in
//! every `cargo test`.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;
use slipway_pipeline::expr::{self, Scope, Value};
use slipway_pipeline::plan::{Event, EventKind, PlanInput, plan};
use slipway_pipeline::{NoTemplates, load};

/// Few cases by default so a debug `cargo test` stays within seconds; `PROPTEST_CASES=20000`
/// turns the same tests into a soak run.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    // Persisted failures would land in `proptest-regressions/` beside the crate; a failure is
    // reported with its minimal input and then added to the tests by hand instead.
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn sample_event(kind: EventKind, git_ref: &str, base: Option<&str>) -> Event {
    Event {
        kind,
        git_ref: git_ref.into(),
        sha: "0123456789abcdef0123456789abcdef01234567".into(),
        actor: "proptest".into(),
        base: base.map(Into::into),
    }
}

/// Loads `text` and checks what callers rely on: every diagnostic locates inside its file, and
/// a pipeline without errors can be planned for a branch push, a pull request and a tag.
fn load_locate_plan(text: &str) -> Result<(), TestCaseError> {
    let loaded = load("slipway.yml", text, &NoTemplates);
    for diagnostic in &loaded.diagnostics {
        let located = diagnostic.located(&loaded.sources);
        let file = loaded.sources.get(diagnostic.span.source);
        let lines: Vec<&str> = file.text.split('\n').collect();
        prop_assert!(
            (1..=lines.len()).contains(&located.line),
            "{located:?} is outside the file's {} lines",
            lines.len()
        );
        // One past the last character is the line's end: its newline, or the end of the file.
        let width = lines[located.line - 1].chars().count() + 1;
        prop_assert!(
            (1..=width).contains(&located.column),
            "{located:?} is outside its line of {width} columns"
        );
    }
    if !loaded.has_errors() {
        let changed = ["src/main.rs".to_string(), "docs/index.md".to_string()];
        for event in [
            sample_event(EventKind::Push, "refs/heads/main", None),
            sample_event(EventKind::PullRequest, "refs/heads/feature", Some("main")),
            sample_event(EventKind::Push, "refs/tags/v1.0.0", None),
        ] {
            plan(
                &loaded.pipeline,
                &PlanInput {
                    event: &event,
                    changed_files: Some(&changed),
                },
            );
        }
    }
    Ok(())
}

// --- Structured YAML -------------------------------------------------------------------------
//
// Arbitrary strings almost never get past the YAML parser, so these generators write YAML (valid
// apart from a few deliberate oddities) whose keys mostly follow the pipeline format (each key
// proposes the keys found under it), with values that are expressions, durations, crons, globs,
// names and some junk: that reaches the model reader and the semantic checks.

#[derive(Clone, Debug)]
enum Yaml {
    Scalar(String, Quote),
    /// `true` renders the collection in flow style (`[a, b]`, `{k: v}`).
    Seq(Vec<Yaml>, bool),
    Map(Vec<(String, Yaml)>, bool),
}

#[derive(Clone, Copy, Debug)]
enum Quote {
    /// Plain when YAML reads it back unchanged, else double-quoted: `1` stays a number.
    Auto,
    Single,
    Double,
    /// Verbatim, so YAML-level oddities (aliases, tags, block scalars) get in too.
    Raw,
}

const TOP_KEYS: &[&str] = &[
    "version",
    "name",
    "on",
    "concurrency",
    "defaults",
    "env",
    "include",
    "jobs",
    "secrets",
    "environments",
    "analysis",
];
const TRIGGER_KEYS: &[&str] = &["push", "pull_request", "schedule", "manual"];
const REF_FILTER_KEYS: &[&str] = &["branches", "tags", "paths", "paths-ignore"];
const JOB_IDS: &[&str] = &["build", "test", "fmt", "deploy-staging"];
const JOB_KEYS: &[&str] = &[
    "stage",
    "needs",
    "if",
    "matrix",
    "timeout",
    "retry",
    "continue-on-error",
    "fail-fast",
    "paths",
    "paths-ignore",
    "env",
    "secrets",
    "cache",
    "outputs",
    "artifact",
    "reports",
    "deploy",
    "sandbox",
    "steps",
];
const STEP_KEYS: &[&str] = &[
    "name",
    "run",
    "shell",
    "working-directory",
    "env",
    "timeout",
    "if",
    "continue-on-error",
    "retry",
    // Under `canary`, `steps` holds rollout steps.
    "weight",
    "pause",
    "analysis",
];
const MATRIX_KEYS: &[&str] = &["os", "rust", "include", "exclude", "max-parallel"];
const SECRET_NAMES: &[&str] = &["REGISTRY_TOKEN", "DB_PASSWORD", "api-key"];
const ENVIRONMENT_IDS: &[&str] = &["staging", "production"];
const ENVIRONMENT_KEYS: &[&str] = &[
    "target", "strategy", "after", "approval", "env", "secrets", "freeze",
];
const ANALYSIS_IDS: &[&str] = &["error-rate", "p95-latency"];
const ANALYSIS_KEYS: &[&str] = &[
    "provider",
    "metric",
    "query",
    "url",
    "success",
    "failure",
    "interval",
    "count",
    "failure-limit",
    "inconclusive-limit",
    "consecutive-error-limit",
    "min-samples",
    "compare",
    "args",
];
/// Keys proposed under a key that holds no mapping in the format.
const ANY_KEYS: &[&str] = &[
    "version", "on", "jobs", "steps", "run", "if", "needs", "matrix", "include", "name", "env",
    "key",
];
const ENV_NAMES: &[&str] = &["RUST_BACKTRACE", "CI", "lower-case", "1BAD"];

/// The keys a key's value usually holds when it is a mapping.
fn children(key: &str) -> &'static [&'static str] {
    match key {
        "" => TOP_KEYS,
        "on" => TRIGGER_KEYS,
        "push" | "pull_request" => REF_FILTER_KEYS,
        "concurrency" => &["group", "cancel-in-progress"],
        "defaults" => &["timeout", "shell", "working-directory"],
        "include" => &["template", "os", "rust", "experimental"],
        "exclude" => &["os", "rust"],
        "jobs" => JOB_IDS,
        "build" | "test" | "fmt" | "deploy-staging" => JOB_KEYS,
        "matrix" => MATRIX_KEYS,
        "retry" => &["max", "backoff", "on"],
        "backoff" => &["initial", "factor", "max"],
        "cache" => &["key", "restore-keys", "paths"],
        "artifact" => &["name", "from", "entrypoint", "env", "ports"],
        "reports" => &["junit", "sarif"],
        "deploy" => &["environment"],
        "steps" => STEP_KEYS,
        "secrets" => SECRET_NAMES,
        "REGISTRY_TOKEN" | "DB_PASSWORD" | "api-key" => &["from", "name", "path", "field"],
        "environments" => ENVIRONMENT_IDS,
        "staging" | "production" => ENVIRONMENT_KEYS,
        "approval" => &["required", "exclude-author"],
        "freeze" => &["cron", "duration"],
        "strategy" => &["rolling", "blue-green", "canary"],
        "rolling" => &["max-unavailable"],
        "blue-green" => &[
            "scale-down-delay",
            "pre-promotion-analysis",
            "post-promotion-analysis",
        ],
        "canary" => &["steps", "analysis"],
        "analysis" => &["error-rate", "p95-latency", "use"],
        "error-rate" | "p95-latency" => ANALYSIS_KEYS,
        "env" => ENV_NAMES,
        "args" => &["window", "service"],
        _ => ANY_KEYS,
    }
}

const EXPRESSIONS: &[&str] = &[
    "${{ matrix.os }}",
    "${{ matrix.nope }}",
    "${{ event.branch == 'main' && success() }}",
    "${{ event.nope }}",
    "${{ jobs.build.result == 'success' }}",
    "${{ jobs.nope.result }}",
    "${{ env.CI }}",
    "${{ hashFiles('Cargo.lock') }}",
    "${{ startsWith(event.ref, 'refs/tags/') }}",
    "${{ nope(1) }}",
    "${{ contains(1) }}",
    "${{ always() || failure() }}",
    "${{ false }}",
    "${{ 1 == }}",
    "${{ ",
    "}} ${{",
    "cargo-${{ matrix.rust }}-${{ hashFiles('a', 'b') }}",
    "event.branch != 'main'",
    "value < 0.01",
    "samples > 3 && value <= 0.5",
    "echo ${{ secrets.X }} é ${{ 'x}}' }}",
];
const DURATIONS: &[&str] = &[
    "90s",
    "15m",
    "1h30m",
    "500ms",
    "2d",
    "0s",
    "m",
    "10",
    "1x",
    "99999999999999999999999d",
];
const CRONS: &[&str] = &[
    "0 3 * * *",
    "*/5 * * * 1-5",
    "61 * * * *",
    "* * *",
    "@daily",
    "",
];
const GLOBS: &[&str] = &[
    "main",
    "release/*",
    "src/**",
    "docs/**",
    "**/*.rs",
    "[",
    "{a,b",
    "v*",
    "!x",
];
const TEMPLATE_REFS: &[&str] = &[
    "templates/rust.yml",
    "git+https://example.org/ci.git//rust.yml@v1.4.2",
    "git+https://example.org/ci.git//rust.yml@main",
    "git+https://example.org/ci.git@v1",
    "git+//@",
    " ",
];
const NUMBERS: &[&str] = &[
    "1",
    "0",
    "-1",
    "2",
    "5",
    "25",
    "100",
    "101",
    "255",
    "256",
    "1.5",
    "9223372036854775807",
    "0x1f",
    ".nan",
];
const WORDS: &[&str] = &[
    "true",
    "false",
    "null",
    "~",
    "validate",
    "build",
    "test",
    "deploy",
    "bogus",
    "env",
    "file",
    "vault",
    "proxy",
    "prometheus",
    "web",
    "rolling",
    "blue-green",
    "canary",
    "infra",
    "timeout",
    "local",
    "bash",
    "error_rate",
    "baseline",
    "hello-service",
    "target/release/x",
    "bad id!",
    "",
];
const RAW: &[&str] = &[
    "*a",
    "&a 1",
    "&a [1, *a]",
    "!!str 1",
    "!!binary x",
    "|\n  x",
    ">-\n  y",
    "? x",
    "- x",
    "{a",
    "[",
    "'x",
    "@x",
    "a: b: c",
    "\t1",
    "---",
    "...",
];

/// Scalars that suit a value under `key`.
fn hints(key: &str) -> &'static [&'static str] {
    match key {
        "version"
        | "weight"
        | "max"
        | "count"
        | "required"
        | "max-parallel"
        | "max-unavailable"
        | "factor"
        | "ports"
        | "failure-limit"
        | "inconclusive-limit"
        | "consecutive-error-limit"
        | "min-samples"
        | "os"
        | "rust" => NUMBERS,
        "needs" | "outputs" => JOB_IDS,
        "after" | "environment" | "target" => ENVIRONMENT_IDS,
        "use" | "pre-promotion-analysis" | "post-promotion-analysis" => ANALYSIS_IDS,
        "secrets" => SECRET_NAMES,
        "timeout" | "interval" | "initial" | "pause" | "duration" | "scale-down-delay" => DURATIONS,
        "schedule" | "cron" => CRONS,
        "branches" | "tags" | "paths" | "paths-ignore" => GLOBS,
        "template" => TEMPLATE_REFS,
        "if" | "success" | "failure" | "run" | "key" | "restore-keys" | "group" | "name"
        | "query" => EXPRESSIONS,
        _ => WORDS,
    }
}

fn scalar(key: &'static str) -> impl Strategy<Value = Yaml> {
    let text = prop_oneof![
        6 => select(hints(key)).prop_map(String::from),
        1 => select(EXPRESSIONS).prop_map(String::from),
        1 => select(DURATIONS).prop_map(String::from),
        1 => select(WORDS).prop_map(String::from),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => "\\PC{0,12}",
    ];
    let quote = prop_oneof![
        12 => Just(Quote::Auto),
        2 => Just(Quote::Double),
        1 => Just(Quote::Single),
    ];
    prop_oneof![
        30 => (text, quote).prop_map(|(text, quote)| Yaml::Scalar(text, quote)),
        1 => select(RAW).prop_map(|raw| Yaml::Scalar(raw.into(), Quote::Raw)),
    ]
}

/// A key under `parent`, with the context its own value is generated in (`"junk"`, which no
/// table knows, for made-up keys).
fn key(parent: &'static str) -> impl Strategy<Value = (String, &'static str)> {
    prop_oneof![
        12 => select(children(parent)).prop_map(|key| (key.to_string(), key)),
        1 => select(TOP_KEYS).prop_map(|key| (key.to_string(), key)),
        1 => select(JOB_KEYS).prop_map(|key| (key.to_string(), key)),
        1 => "[a-zA-Z_-]{0,8}|\\PC{0,6}".prop_map(|junk| (junk, "junk")),
    ]
}

fn value(key: &'static str, depth: u32) -> BoxedStrategy<Yaml> {
    if depth == 0 {
        return scalar(key).boxed();
    }
    // Keys that hold mappings in the format mostly get mappings, so generation reaches the
    // deeper parts (`environments.production.strategy.canary.steps`) within the depth limit.
    let (scalars, maps) = if children(key) == ANY_KEYS {
        (6, 1)
    } else {
        (1, 6)
    };
    prop_oneof![
        scalars => scalar(key),
        2 => (vec(value(key, depth - 1), 0..4), prop::bool::weighted(0.3))
            .prop_map(|(items, flow)| Yaml::Seq(items, flow)),
        maps => (vec(entry(key, depth - 1), 0..4), prop::bool::weighted(0.2))
            .prop_map(|(entries, flow)| Yaml::Map(entries, flow)),
    ]
    .boxed()
}

fn entry(parent: &'static str, depth: u32) -> impl Strategy<Value = (String, Yaml)> {
    key(parent).prop_flat_map(move |(name, context)| (Just(name), value(context, depth)))
}

/// A pipeline document: random keys mostly from the format, a pipeline that loads cleanly (so
/// planning runs too), or such a pipeline with one node replaced (one mistake in a good file).
fn document() -> impl Strategy<Value = String> {
    let patch = prop_oneof![
        3 => scalar("junk"),
        1 => value("junk", 2),
        1 => Just(Yaml::Map(Vec::new(), true)),
        1 => Just(Yaml::Seq(Vec::new(), true)),
    ];
    let tree = prop_oneof![
        2 => random_pipeline(),
        1 => valid_pipeline(),
        2 => (valid_pipeline(), any::<usize>(), patch).prop_map(|(mut tree, index, patch)| {
            replace_node(&mut tree, index, patch);
            tree
        }),
    ];
    tree.prop_map(|tree| {
        let mut out = String::new();
        block_value(&tree, 0, &mut out);
        out
    })
}

/// Usually with `version` and `jobs`, plus other top-level keys, all values random.
fn random_pipeline() -> impl Strategy<Value = Yaml> {
    (
        prop::option::weighted(
            0.9,
            prop_oneof![4 => Just(plain("1")), 1 => scalar("version")],
        ),
        vec(entry("", 6), 0..5),
        prop::option::weighted(0.9, vec(entry("jobs", 6), 0..4)),
    )
        .prop_map(|(version, rest, jobs)| {
            let mut top: Vec<(String, Yaml)> = Vec::new();
            top.extend(version.map(|v| ("version".to_string(), v)));
            top.extend(rest);
            top.extend(jobs.map(|jobs| ("jobs".to_string(), Yaml::Map(jobs, false))));
            Yaml::Map(top, false)
        })
}

fn plain(text: &str) -> Yaml {
    Yaml::Scalar(text.into(), Quote::Auto)
}

fn map(entries: Vec<(&str, Yaml)>) -> Yaml {
    Yaml::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        false,
    )
}

fn list(items: &[&str]) -> Yaml {
    Yaml::Seq(items.iter().map(|item| plain(item)).collect(), true)
}

const STAGES: &[&str] = &[
    "validate",
    "build",
    "test",
    "integration",
    "scan",
    "deploy",
    "verify",
];
const CONDITIONS: &[&str] = &[
    "${{ event.branch == 'main' && success() }}",
    "event.name == 'push'",
    "${{ always() }}",
    "startsWith(event.ref, 'refs/tags/')",
    "${{ !cancelled() && env.RUST_BACKTRACE == '1' }}",
    "contains(event.ref, 'main') || failure()",
];
const RUNS: &[&str] = &[
    "cargo test --workspace",
    "cargo build --release",
    "echo ${{ event.branch }}",
    "echo ${{ env.RUST_BACKTRACE }} ${{ event.sha }}",
];

/// A pipeline that loads without errors: jobs need only earlier jobs, every name it uses is
/// declared, and deployments come with their environments and analysis.
fn valid_pipeline() -> impl Strategy<Value = Yaml> {
    (1..=JOB_IDS.len(), any::<bool>())
        .prop_flat_map(|(count, deploys)| {
            let jobs: Vec<_> = (0..count).map(|index| valid_job(index, deploys)).collect();
            (jobs, triggers(), Just(deploys), any::<(bool, bool, bool)>())
        })
        .prop_map(|(jobs, on, deploys, (concurrency, defaults, env))| {
            let mut top = vec![("version", plain("1")), ("name", plain("hello-service"))];
            top.extend(on.map(|on| ("on", on)));
            if concurrency {
                top.push((
                    "concurrency",
                    map(vec![
                        ("group", plain("${{ event.ref }}")),
                        ("cancel-in-progress", plain("true")),
                    ]),
                ));
            }
            if defaults {
                top.push((
                    "defaults",
                    map(vec![("timeout", plain("30m")), ("shell", plain("bash"))]),
                ));
            }
            if env {
                top.push((
                    "env",
                    map(vec![(
                        "RUST_BACKTRACE",
                        Yaml::Scalar("1".into(), Quote::Double),
                    )]),
                ));
            }
            top.push(("jobs", Yaml::Map(jobs, false)));
            top.push((
                "secrets",
                map(vec![(
                    "REGISTRY_TOKEN",
                    map(vec![
                        ("from", plain("env")),
                        ("name", plain("CI_REGISTRY_TOKEN")),
                    ]),
                )]),
            ));
            if deploys {
                top.push(("environments", environments()));
                top.push(("analysis", analysis()));
            }
            map(top)
        })
}

fn triggers() -> impl Strategy<Value = Option<Yaml>> {
    prop::option::of(any::<(bool, bool, bool, bool)>().prop_map(
        |(push, pull_request, schedule, manual)| {
            let mut on = Vec::new();
            if push {
                on.push((
                    "push",
                    map(vec![
                        ("branches", list(&["main", "release/*"])),
                        ("paths-ignore", list(&["docs/**"])),
                    ]),
                ));
            }
            if pull_request {
                on.push(("pull_request", map(vec![("branches", list(&["main"]))])));
            }
            if schedule {
                on.push((
                    "schedule",
                    Yaml::Seq(vec![Yaml::Scalar("0 3 * * *".into(), Quote::Double)], false),
                ));
            }
            if manual {
                on.push(("manual", Yaml::Map(Vec::new(), true)));
            }
            map(on)
        },
    ))
}

fn valid_job(index: usize, deploys: bool) -> impl Strategy<Value = (String, Yaml)> {
    let earlier = &JOB_IDS[..index];
    let deploy = match deploys {
        true => prop::option::of(select(ENVIRONMENT_IDS)).boxed(),
        false => Just(None).boxed(),
    };
    (
        prop::option::of(select(STAGES)),
        prop::sample::subsequence(earlier, 0..=index),
        prop::option::of(0..CONDITIONS.len() + 1),
        prop::option::of(select(&["90s", "15m", "1h30m"][..])),
        any::<(bool, bool, bool, bool, bool)>(),
        vec(select(RUNS), 0..3),
        deploy,
    )
        .prop_map(
            move |(
                stage,
                needs,
                condition,
                timeout,
                (matrix, paths, cache, retry, secrets),
                runs,
                deploy,
            )| {
                let mut job = Vec::new();
                job.extend(stage.map(|stage| ("stage", plain(stage))));
                if !needs.is_empty() {
                    job.push(("needs", list(&needs)));
                }
                // One past the fixed conditions reads the result of a need, which must be listed.
                match (condition, needs.first()) {
                    (Some(i), _) if i < CONDITIONS.len() => job.push(("if", plain(CONDITIONS[i]))),
                    (Some(_), Some(need)) => job.push((
                        "if",
                        plain(&format!("${{{{ jobs.{need}.result == 'success' }}}}")),
                    )),
                    _ => {}
                }
                job.extend(timeout.map(|timeout| ("timeout", plain(timeout))));
                if matrix {
                    job.push((
                        "matrix",
                        map(vec![
                            ("os", list(&["linux", "mac"])),
                            ("rust", list(&["stable", "1.95"])),
                            (
                                "exclude",
                                Yaml::Seq(
                                    vec![map(vec![("os", plain("mac")), ("rust", plain("1.95"))])],
                                    false,
                                ),
                            ),
                        ]),
                    ));
                }
                if paths {
                    job.push(("paths", list(&["src/**", "Cargo.*"])));
                }
                if cache {
                    let key = if matrix {
                        "cargo-${{ matrix.os }}-${{ hashFiles('Cargo.lock') }}"
                    } else {
                        "cargo-${{ hashFiles('Cargo.lock') }}"
                    };
                    job.push((
                        "cache",
                        map(vec![("key", plain(key)), ("paths", list(&["target"]))]),
                    ));
                }
                if retry {
                    job.push((
                        "retry",
                        map(vec![
                            ("max", plain("2")),
                            ("on", list(&["infra", "timeout", "75"])),
                        ]),
                    ));
                }
                if secrets {
                    job.push(("secrets", list(&["REGISTRY_TOKEN"])));
                }
                let mut steps: Vec<Yaml> = runs
                    .iter()
                    .map(|run| map(vec![("run", plain(run))]))
                    .collect();
                if matrix {
                    steps.push(map(vec![
                        ("name", plain("per os")),
                        ("run", plain("echo ${{ matrix.os }}")),
                    ]));
                }
                match deploy {
                    Some(environment) => {
                        job.push(("deploy", map(vec![("environment", plain(environment))])))
                    }
                    None if steps.is_empty() => steps.push(map(vec![("run", plain("true"))])),
                    None => {}
                }
                if !steps.is_empty() {
                    job.push(("steps", Yaml::Seq(steps, false)));
                }
                (JOB_IDS[index].to_string(), map(job))
            },
        )
}

fn environments() -> Yaml {
    let canary = Yaml::Seq(
        vec![
            map(vec![("weight", plain("5"))]),
            map(vec![("pause", plain("60s"))]),
            map(vec![("analysis", map(vec![("use", plain("error-rate"))]))]),
            map(vec![("weight", plain("100"))]),
        ],
        false,
    );
    map(vec![
        (
            "staging",
            map(vec![
                ("target", plain("local")),
                ("strategy", plain("rolling")),
            ]),
        ),
        (
            "production",
            map(vec![
                ("after", plain("staging")),
                (
                    "approval",
                    map(vec![
                        ("required", plain("1")),
                        ("exclude-author", plain("true")),
                    ]),
                ),
                (
                    "strategy",
                    map(vec![("canary", map(vec![("steps", canary)]))]),
                ),
            ]),
        ),
    ])
}

fn analysis() -> Yaml {
    map(vec![(
        "error-rate",
        map(vec![
            ("provider", plain("proxy")),
            ("metric", plain("error_rate")),
            ("success", plain("value < 0.01")),
            ("interval", plain("10s")),
            ("count", plain("6")),
            ("failure-limit", plain("1")),
        ]),
    )])
}

/// Replaces the `index`-th node of `tree` (pre-order, modulo its size) with `patch`.
fn replace_node(tree: &mut Yaml, index: usize, patch: Yaml) {
    fn size(node: &Yaml) -> usize {
        1 + match node {
            Yaml::Scalar(..) => 0,
            Yaml::Seq(items, _) => items.iter().map(size).sum(),
            Yaml::Map(entries, _) => entries.iter().map(|(_, v)| size(v)).sum(),
        }
    }
    fn walk(node: &mut Yaml, target: &mut usize, patch: &mut Option<Yaml>) {
        if patch.is_none() {
            return;
        }
        if *target == 0 {
            *node = patch.take().expect("checked above");
            return;
        }
        *target -= 1;
        match node {
            Yaml::Scalar(..) => {}
            Yaml::Seq(items, _) => items.iter_mut().for_each(|item| walk(item, target, patch)),
            Yaml::Map(entries, _) => entries
                .iter_mut()
                .for_each(|(_, value)| walk(value, target, patch)),
        }
    }
    // Node 0 is the whole document: skip it, or the patch would replace everything.
    let mut target = 1 + index % (size(tree) - 1).max(1);
    walk(tree, &mut target, &mut Some(patch));
}

fn block_map(entries: &[(String, Yaml)], indent: usize, out: &mut String) {
    for (key, value) in entries {
        out.push_str(&" ".repeat(indent));
        out.push_str(&scalar_text(key, Quote::Auto, false));
        out.push(':');
        block_value(value, indent + 2, out);
    }
}

fn block_value(node: &Yaml, indent: usize, out: &mut String) {
    match node {
        Yaml::Map(entries, false) if !entries.is_empty() => {
            out.push('\n');
            block_map(entries, indent, out);
        }
        Yaml::Seq(items, false) if !items.is_empty() => {
            out.push('\n');
            for item in items {
                out.push_str(&" ".repeat(indent));
                out.push('-');
                block_value(item, indent + 2, out);
            }
        }
        Yaml::Scalar(text, quote) => {
            out.push(' ');
            out.push_str(&scalar_text(text, *quote, false));
            out.push('\n');
        }
        collection => {
            out.push(' ');
            flow(collection, out);
            out.push('\n');
        }
    }
}

fn flow(node: &Yaml, out: &mut String) {
    match node {
        Yaml::Scalar(text, quote) => out.push_str(&scalar_text(text, *quote, true)),
        Yaml::Seq(items, _) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(item, out);
            }
            out.push(']');
        }
        Yaml::Map(entries, _) => {
            out.push('{');
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&scalar_text(key, Quote::Auto, true));
                out.push_str(": ");
                flow(value, out);
            }
            out.push('}');
        }
    }
}

fn scalar_text(text: &str, quote: Quote, in_flow: bool) -> String {
    match quote {
        Quote::Raw => text.to_string(),
        Quote::Auto if is_plain(text, in_flow) => text.to_string(),
        Quote::Single if !text.chars().any(needs_escape) => {
            format!("'{}'", text.replace('\'', "''"))
        }
        _ => double_quoted(text),
    }
}

/// Whether `text` reads back as itself when written unquoted (conservatively).
fn is_plain(text: &str, in_flow: bool) -> bool {
    let mut chars = text.chars();
    let first_ok = match chars.next() {
        Some('-') => chars.next().is_some_and(|c| c.is_ascii_digit()),
        Some(c) => c.is_ascii_alphanumeric() || "_./$~(".contains(c),
        None => false,
    };
    let punctuation = if in_flow {
        " _./$~()'!&|<>=+*@-"
    } else {
        " _./$~()'!&|<>=+*@:#{}[],-"
    };
    first_ok
        && !text.ends_with([' ', ':'])
        && !text.contains(": ")
        && !text.contains(" #")
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || punctuation.contains(c))
}

/// Characters YAML does not allow literally in a scalar (or that read back differently).
fn needs_escape(c: char) -> bool {
    c < ' '
        || ('\u{7f}'..='\u{9f}').contains(&c)
        || matches!(c, '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

fn double_quoted(text: &str) -> String {
    let mut out = String::from('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if needs_escape(c) => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// --- Expressions -----------------------------------------------------------------------------

/// A well-formed expression's text.
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (0u32..1000).prop_map(|n| n.to_string()),
        "-?[0-9]{1,3}\\.[0-9]{1,3}(e-?[0-9])?",
        "0x[0-9a-f]{1,6}",
        // No `$` so that no literal spells `${{`, which a condition must not contain.
        "[a-zA-Z0-9 _./*{}:'-]{0,8}".prop_map(|s| format!("'{}'", s.replace('\'', "''"))),
        select(&["true", "false", "null"][..]).prop_map(String::from),
        select(
            &[
                "event.branch",
                "event.ref",
                "event",
                "matrix.os",
                "env.CI",
                "jobs.build.result",
                "value",
                "nope.deep.path",
            ][..]
        )
        .prop_map(String::from),
        select(&["success()", "failure()", "always()", "cancelled()"][..]).prop_map(String::from),
    ];
    leaf.prop_recursive(5, 48, 3, |inner| {
        let op = select(&["==", "!=", "<", "<=", ">", ">=", "&&", "||"][..]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|a| format!("!{a}")),
            inner.clone().prop_map(|a| format!("({a})")),
            (inner.clone(), "[a-zA-Z_][a-zA-Z0-9_-]{0,6}")
                .prop_map(|(a, name)| format!("({a}).{name}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a})[{b}]")),
            (
                select(&["startsWith", "endsWith", "contains"][..]),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(f, a, b)| format!("{f}({a}, {b})")),
            vec(inner, 1..3).prop_map(|args| format!("hashFiles({})", args.join(", "))),
        ]
    })
}

/// What a job's `if` sees at plan time, so evaluation walks real objects, not just nulls.
fn scope() -> Scope<'static> {
    let mut scope = Scope {
        status: Some(Default::default()),
        ..Scope::default()
    };
    let object = |fields: &[(&str, Value)]| {
        Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    };
    let event = sample_event(EventKind::Push, "refs/heads/main", None);
    scope.contexts.insert("event".into(), event.context());
    scope.contexts.insert(
        "matrix".into(),
        object(&[("os", Value::String("linux".into()))]),
    );
    scope.contexts.insert(
        "env".into(),
        object(&[("CI", Value::String("true".into()))]),
    );
    let build = object(&[("result", Value::String("success".into()))]);
    scope
        .contexts
        .insert("jobs".into(), object(&[("build", build)]));
    scope.contexts.insert("value".into(), Value::Number(0.5));
    scope
}

/// Parses `text` every way the pipeline does and evaluates whatever parses.
fn parse_and_eval(text: &str) {
    let scope = scope();
    if let Ok(parsed) = expr::parse(text) {
        let _ = scope.eval(&parsed);
    }
    if let Ok(segments) = expr::parse_template(text) {
        let _ = scope.render(&segments);
    }
    if let Ok((parsed, _)) = expr::parse_condition(text) {
        let _ = scope.eval(&parsed);
    }
}

/// Any text, or text made of YAML punctuation, which finds parser states plain text rarely does.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof!["(?s).{0,400}", "[a-z0-9:{}\\[\\],#&*!|>'\"$ \n-]{0,300}"]
}

/// Any text, or text made of the expression language's characters.
fn any_expression_text() -> impl Strategy<Value = String> {
    prop_oneof!["(?s).{0,80}", "[a-z0-9 .()\\[\\]'!=<>&|,${}x-]{0,60}"]
}

proptest! {
    #![proptest_config(config(500))]

    #[test]
    fn load_never_panics_on_arbitrary_text(text in any_text()) {
        load_locate_plan(&text)?;
    }

    #[test]
    fn load_never_panics_on_structured_yaml(text in document()) {
        load_locate_plan(&text)?;
    }

    /// Guards the generator as much as the loader: if these stop loading cleanly, `plan` is no
    /// longer reached by the structured test above.
    #[test]
    fn valid_pipelines_load_without_errors(tree in valid_pipeline()) {
        let mut text = String::new();
        block_value(&tree, 0, &mut text);
        let loaded = load("slipway.yml", &text, &NoTemplates);
        let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
        prop_assert!(errors.is_empty(), "{text}\n{errors:#?}");
    }

    #[test]
    fn expression_parsing_never_panics_on_arbitrary_text(text in any_expression_text()) {
        parse_and_eval(&text);
    }

    #[test]
    fn well_formed_expressions_parse_and_evaluate(text in expression()) {
        let parsed = expr::parse(&text);
        prop_assert!(parsed.is_ok(), "{text:?} does not parse: {parsed:?}");
        let wrapped = format!("${{{{ {text} }}}}");
        prop_assert!(expr::parse_template(&wrapped).is_ok(), "{wrapped:?}: not a template");
        prop_assert!(expr::parse_condition(&text).is_ok(), "{text:?}: not a condition");
        prop_assert!(expr::parse_condition(&wrapped).is_ok(), "{wrapped:?}: not a condition");
        parse_and_eval(&text);
        parse_and_eval(&wrapped);
    }
}
