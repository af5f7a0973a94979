//! `uses:` steps. Every one ends in exactly one note at its `uses:` key: translated into a
//! Slipway feature (checkout, cache), dropped with a suggestion (toolchains, artifacts), or
//! replaced by a placeholder step that fails until the user writes the `run:` equivalent.

use super::{Converter, JobScope, entries, key_name, lookup, placeholder, shown};
use crate::emit::{self, Map, Value};
use crate::translate::{self, Place};
use slipway_pipeline::yaml::Node;

/// `actions/checkout` inputs that change nothing on Slipway, with the value that makes them
/// harmless (`None`: any value).
const HARMLESS_CHECKOUT: &[(&str, Option<&str>)] = &[
    ("persist-credentials", None),
    ("clean", None),
    ("show-progress", None),
    ("set-safe-directory", None),
    ("fetch-depth", Some("1")),
];

/// `actions/cache` inputs with no effect on Slipway's cache.
const HARMLESS_CACHE: &[&str] = &["enableCrossOsArchive", "save-always", "upload-chunk-size"];

/// Well-known actions and the command that replaces them.
const KNOWN_COMMANDS: &[(&str, &str)] = &[
    (
        "golangci/golangci-lint-action",
        "install golangci-lint on the agent and run `golangci-lint run`",
    ),
    (
        "github/codeql-action",
        "run the CodeQL CLI (`codeql database create` / `codeql database analyze`) and publish the SARIF under the job's `reports: { sarif: … }`",
    ),
    (
        "docker/login-action",
        "run `docker login` with a token declared under `secrets:`",
    ),
    (
        "docker/build-push-action",
        "run `docker build` and `docker push` (or declare the image as the run's `artifact:`)",
    ),
    ("docker/setup-buildx-action", "install buildx on the agent"),
    (
        "docker/setup-qemu-action",
        "install QEMU binfmt handlers on the agent",
    ),
    (
        "softprops/action-gh-release",
        "publish the release with `gh release create` and a token declared under `secrets:`",
    ),
    (
        "codecov/codecov-action",
        "upload with the Codecov CLI and a token declared under `secrets:`",
    ),
    (
        "swatinem/rust-cache",
        "use the job's `cache:` with `key: \"cargo-${{ hashFiles('**/Cargo.lock') }}\"` and `paths: [~/.cargo/registry, ~/.cargo/git, target]`",
    ),
];

/// Toolchain installers: (action, what it installs, the `with` input naming the version,
/// a command that installs it, with `{v}` for the version).
const TOOLCHAINS: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "actions/setup-node",
        "Node.js",
        "node-version",
        Some("fnm install {v} && fnm use {v}"),
    ),
    (
        "actions/setup-python",
        "Python",
        "python-version",
        Some("uv python install {v}"),
    ),
    ("actions/setup-go", "Go", "go-version", None),
    (
        "actions/setup-java",
        "a JDK",
        "java-version",
        Some("sdk install java {v}"),
    ),
    (
        "dtolnay/rust-toolchain",
        "the Rust toolchain",
        "toolchain",
        Some("rustup toolchain install {v} --profile minimal"),
    ),
    (
        "actions-rs/toolchain",
        "the Rust toolchain",
        "toolchain",
        Some("rustup toolchain install {v} --profile minimal"),
    ),
];

impl Converter<'_> {
    /// Converts a `uses:` step: `None` when it was dropped or became the job's `cache`.
    pub(super) fn action_step(
        &mut self,
        fields: &[(Node, Node)],
        uses_key: &Node,
        uses: &Node,
        scope: &JobScope,
        cache: &mut Option<Map>,
    ) -> Option<Value> {
        let reference = uses.scalar_text().unwrap_or_default();
        let (action, version) = reference
            .split_once('@')
            .unwrap_or((reference.as_str(), ""));
        let action_lower = action.to_ascii_lowercase();
        let with = lookup(fields, "with").map(|(_, w)| w);
        let inputs: Vec<(String, &Node)> = with
            .map(entries)
            .unwrap_or_default()
            .iter()
            .map(|(k, v)| (key_name(k), v))
            .collect();
        let name = lookup(fields, "name").and_then(|(_, n)| n.scalar_text());

        if action_lower == "actions/checkout" {
            let options: Vec<String> = inputs
                .iter()
                .filter(|(k, v)| {
                    !HARMLESS_CHECKOUT.iter().any(|(name, harmless)| {
                        name == k && harmless.is_none_or(|h| v.scalar_text().as_deref() == Some(h))
                    })
                })
                .map(|(k, v)| format!("`{k}: {}`", shown(v)))
                .collect();
            if options.is_empty() {
                self.info(
                    uses_key,
                    format!("`{reference}` was dropped: Slipway checks out the commit into a clean workspace before the first step"),
                );
                return None;
            }
            self.todo(
                uses_key,
                format!(
                    "`{reference}` was dropped: Slipway checks out the commit into a clean workspace before the first step, but not with {}",
                    options.join(", ")
                ),
                Some("do the rest in a `run:` step, e.g. `git fetch --unshallow --tags`, `git submodule update --init --recursive`, or `git clone` for another repository".into()),
            );
            return None;
        }

        if action_lower == "actions/cache" {
            if let Some(converted) =
                self.cache(uses_key, &reference, &inputs, scope, cache.is_some())
            {
                *cache = Some(converted);
            }
            return None;
        }

        if let Some((_, tool, input, example)) =
            TOOLCHAINS.iter().find(|(a, ..)| *a == action_lower)
        {
            self.toolchain(
                uses_key, &reference, version, tool, input, *example, &inputs, scope,
            );
            return None;
        }

        if action_lower == "actions/upload-artifact" {
            let path = inputs.iter().find(|(k, _)| k == "path").map_or_else(
                || "<path>".to_string(),
                |(_, v)| shown(v).trim().replace('\n', ", "),
            );
            self.todo(
                uses_key,
                format!("`{reference}` was dropped: Slipway hands files to later jobs through `outputs:`, not artifact uploads"),
                Some(format!(
                    "list `{path}` under the job's `outputs:` to hand it to the jobs that need this one, or declare it as the run's `artifact:`"
                )),
            );
            return None;
        }

        if action_lower == "actions/download-artifact" {
            self.todo(
                uses_key,
                format!("`{reference}` was dropped: Slipway hands files to later jobs through `outputs:`, not artifact downloads"),
                Some("the `outputs:` of needed jobs are placed in this job's workspace automatically: list the files under the uploading job's `outputs:`".into()),
            );
            return None;
        }

        let suggestion = if let Some(image) = action.strip_prefix("docker://") {
            format!(
                "run the image in a `run:` step: `docker run --rm -v \"$PWD\":/work -w /work {image} …`"
            )
        } else if action.starts_with("./") {
            format!("copy the steps of the local action `{action}` into this job as `run:` steps")
        } else if let Some((_, command)) = KNOWN_COMMANDS
            .iter()
            .find(|(a, _)| action_lower.starts_with(a))
        {
            format!("replace it with a `run:` step: {command}")
        } else if action_lower.contains("/setup-") || action_lower.ends_with("toolchain") {
            "install the tool on the agent, or add a `run:` step that installs it".into()
        } else {
            "replace it with a `run:` step that does the same work (the action's documentation shows the commands it runs)".into()
        };
        self.todo(
            uses_key,
            format!("no Slipway equivalent for `{reference}`; the step was replaced by a placeholder that fails"),
            Some(suggestion),
        );
        if !inputs.is_empty() {
            self.show("with:".into());
            for (k, v) in &inputs {
                self.show(format!("  {k}: {}", shown(v).trim().replace('\n', "\\n")));
            }
        }
        // The placeholder keeps the step's condition, so it fails only where the action ran.
        let condition = lookup(fields, "if")
            .and_then(|(k, v)| self.condition(k, v, scope.at(Place::StepIf), "the step"));
        Some(placeholder(
            name.as_deref(),
            condition,
            &format!("replace {reference} with a run step"),
        ))
    }

    /// A toolchain installer: dropped, with the command that installs the same version.
    #[allow(clippy::too_many_arguments)]
    fn toolchain(
        &mut self,
        uses_key: &Node,
        reference: &str,
        version: &str,
        tool: &str,
        input: &str,
        example: Option<&str>,
        inputs: &[(String, &Node)],
        scope: &JobScope,
    ) {
        let value = |name: &str| {
            inputs
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.scalar_text())
        };
        // `dtolnay/rust-toolchain@stable` names the toolchain in its ref.
        let from_ref = (reference.starts_with("dtolnay/")
            && !version.starts_with('v')
            && version != "master"
            && version.len() != 40)
            .then(|| version.to_string());
        let requested = value(input).or(from_ref).map(|v| {
            // `${{ matrix.node }}` translates into a version the suggested `run:` step can use.
            translate::template(&v, scope.at(Place::Job))
                .map_or_else(|_| "<version>".to_string(), |t| t.text)
        });
        let file = value(&format!("{input}-file"));
        let mut message = format!(
            "`{reference}` installs {tool}, which Slipway leaves to the agent; the step was dropped"
        );
        if let Some(cache) = value("cache") {
            message.push_str(&format!(
                " (with its `cache: {cache}`: use the job's `cache:`)"
            ));
        }
        let wanted = match (&requested, &file) {
            (Some(v), _) => format!("{tool} {v}"),
            (None, Some(file)) => format!("{tool} (the version in `{file}`)"),
            (None, None) => tool.to_string(),
        };
        let mut suggestion = format!("install {wanted} on the agent");
        if let Some(example) = example {
            let mut command = example.replace("{v}", requested.as_deref().unwrap_or("<version>"));
            if let Some(components) = value("components") {
                command.push_str(&format!(" --component {}", components.replace(' ', "")));
            }
            suggestion.push_str(&format!(", or add a `run:` step, e.g. `{command}`"));
        }
        self.todo(uses_key, message, Some(suggestion));
    }

    /// `actions/cache` → the job's `cache:`. A job has one cache, so a second cache step
    /// is not converted.
    fn cache(
        &mut self,
        uses_key: &Node,
        reference: &str,
        inputs: &[(String, &Node)],
        scope: &JobScope,
        has_cache: bool,
    ) -> Option<Map> {
        if has_cache {
            self.todo(
                uses_key,
                format!("`{reference}` was dropped: a Slipway job has one `cache:`, and an earlier cache step already became it"),
                Some("merge its paths into the job's `cache:`".into()),
            );
            return None;
        }
        let input = |name: &str| {
            inputs
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.scalar_text())
        };
        let mut problems: Vec<String> = Vec::new();
        let mut remarks: Vec<String> = Vec::new();
        let mut paths = Vec::new();
        for path in input("path")
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            if path.starts_with('!') || path.contains("${{") {
                problems.push(format!("path `{path}`"));
            } else {
                paths.push(path.to_string());
            }
        }
        let key_scope = scope.at(Place::CacheKey);
        let key = match translate::template(&input("key").unwrap_or_default(), key_scope) {
            Ok(key) => {
                remarks.extend(key.remarks);
                key.text
            }
            Err(found) => {
                problems.extend(found.into_iter().map(|p| format!("{} in the key", p.what)));
                String::new()
            }
        };
        let mut restore_keys = Vec::new();
        for prefix in input("restore-keys")
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match translate::template(prefix, key_scope) {
                Ok(prefix) if !prefix.text.is_empty() => {
                    remarks.extend(prefix.remarks);
                    restore_keys.push(prefix.text);
                }
                // `${{ runner.os }}-` alone would become a prefix matching every cache.
                Ok(_) => {}
                Err(found) => problems.extend(
                    found
                        .into_iter()
                        .map(|p| format!("{} in `restore-keys`", p.what)),
                ),
            }
        }
        for (name, value) in inputs {
            if !matches!(name.as_str(), "path" | "key" | "restore-keys")
                && !HARMLESS_CACHE.contains(&name.as_str())
            {
                problems.push(format!("`{name}: {}`", shown(value)));
            }
        }
        if key.is_empty() || paths.is_empty() {
            problems.push("a missing `key` or `path`".into());
        }
        if !problems.is_empty() {
            self.todo(
                uses_key,
                format!(
                    "`{reference}` was not converted into the job's `cache:` because of {}",
                    problems.join(", ")
                ),
                Some("write the job's `cache:` by hand: `key`, `restore-keys` and `paths`".into()),
            );
            return None;
        }
        remarks.dedup();
        let mut message = format!("`{reference}` became the job's `cache:`");
        for remark in remarks {
            message.push_str("; ");
            message.push_str(&remark);
        }
        self.info(uses_key, message);
        let mut out = Map::default();
        out.insert("key", Value::Str(key));
        if !restore_keys.is_empty() {
            out.insert("restore-keys", emit::str_seq(restore_keys));
        }
        out.insert("paths", emit::str_seq(paths));
        Some(out)
    }
}
