use crate::Outcome;
use crate::cli::InitArgs;
use crate::repo::DEFAULT_FILE;
use anyhow::{Context, bail};
use std::path::Path;

/// Project kinds `init` recognises, by the file that marks them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Project {
    Cargo,
    Npm,
    Python,
    Go,
}

fn detect(root: &Path) -> Vec<Project> {
    let has = |name: &str| root.join(name).exists();
    let mut found = Vec::new();
    if has("Cargo.toml") {
        found.push(Project::Cargo);
    }
    if has("package.json") {
        found.push(Project::Npm);
    }
    if has("pyproject.toml") || has("requirements.txt") || has("setup.py") {
        found.push(Project::Python);
    }
    if has("go.mod") {
        found.push(Project::Go);
    }
    found
}

/// One job of a starter pipeline.
struct StarterJob {
    id: &'static str,
    stage: &'static str,
    needs: Option<&'static str>,
    /// The lockfile whose hash keys the cache, when the job has one.
    lock: Option<&'static str>,
    cache_paths: &'static [&'static str],
    commands: Vec<String>,
}

fn job(
    id: &'static str,
    stage: &'static str,
    needs: Option<&'static str>,
    lock: Option<&'static str>,
    cache_paths: &'static [&'static str],
    commands: &[&str],
) -> StarterJob {
    StarterJob {
        id,
        stage,
        needs,
        lock,
        cache_paths,
        commands: commands.iter().map(|c| c.to_string()).collect(),
    }
}

/// The jobs for one project kind.
fn jobs(project: Project, root: &Path) -> Vec<StarterJob> {
    match project {
        Project::Cargo => {
            let lock = Some("Cargo.lock");
            vec![
                job(
                    "fmt",
                    "validate",
                    None,
                    None,
                    &[],
                    &["cargo fmt --all --check"],
                ),
                job(
                    "clippy",
                    "validate",
                    None,
                    lock,
                    &["target"],
                    &["cargo clippy --all-targets --locked -- -D warnings"],
                ),
                job(
                    "test",
                    "test",
                    Some("fmt"),
                    lock,
                    &["target"],
                    &["cargo test --locked"],
                ),
                job(
                    "build",
                    "build",
                    Some("fmt"),
                    lock,
                    &["target"],
                    &["cargo build --release --locked"],
                ),
            ]
        }
        Project::Npm => {
            let scripts = std::fs::read_to_string(root.join("package.json"))
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v.get("scripts").cloned())
                .unwrap_or_default();
            let has_script = |name: &str| scripts.get(name).is_some();
            let lock = root
                .join("package-lock.json")
                .exists()
                .then_some("package-lock.json");
            let install = if lock.is_some() {
                "npm ci"
            } else {
                "npm install"
            };
            let modules: &'static [&'static str] = &["node_modules"];
            let mut out = Vec::new();
            let needs = has_script("lint").then_some("npm-lint");
            if has_script("lint") {
                out.push(job(
                    "npm-lint",
                    "validate",
                    None,
                    lock,
                    modules,
                    &[install, "npm run lint"],
                ));
            }
            out.push(job(
                "npm-test",
                "test",
                needs,
                lock,
                modules,
                &[install, "npm test"],
            ));
            if has_script("build") {
                out.push(job(
                    "npm-build",
                    "build",
                    needs,
                    lock,
                    modules,
                    &[install, "npm run build"],
                ));
            }
            out
        }
        Project::Python => {
            let install = if root.join("requirements.txt").exists() {
                "python3 -m pip install -r requirements.txt"
            } else {
                "python3 -m pip install -e ."
            };
            let test = format!(". .venv/bin/activate && {install} && python3 -m pytest");
            vec![job(
                "pytest",
                "test",
                None,
                None,
                &[],
                &["python3 -m venv .venv", &test],
            )]
        }
        Project::Go => vec![
            job("go-vet", "validate", None, None, &[], &["go vet ./..."]),
            job(
                "go-test",
                "test",
                Some("go-vet"),
                Some("go.sum"),
                &["~/go/pkg/mod"],
                &["go test -race ./..."],
            ),
        ],
    }
}

/// The starter pipeline for a repository.
fn starter(root: &Path) -> String {
    let projects = detect(root);
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "app".into());
    let mut out = String::new();
    out.push_str("# yaml-language-server: $schema=./.slipway/schema.json\n");
    out.push_str(
        "# Slipway pipeline. Reference: docs/pipeline.md. Check it with `slipway lint`,\n",
    );
    out.push_str("# see what a change would run with `slipway plan`.\n");
    out.push_str(&format!("version: 1\nname: {}\n\n", yaml_string(&name)));
    out.push_str(
        "on:\n  push: { branches: [main] }\n  pull_request: { branches: [main] }\n  manual: {}\n\n",
    );
    out.push_str("concurrency: { group: \"${{ event.ref }}\", cancel-in-progress: true }\n\n");
    out.push_str("defaults:\n  timeout: 30m\n\njobs:\n");
    let mut any = false;
    for project in &projects {
        for StarterJob {
            id,
            stage,
            needs,
            lock,
            cache_paths: paths,
            commands,
        } in jobs(*project, root)
        {
            any = true;
            out.push_str(&format!("  {id}:\n    stage: {stage}\n"));
            if let Some(needs) = needs {
                out.push_str(&format!("    needs: [{needs}]\n"));
            }
            out.push_str("    timeout: 15m\n");
            if let Some(lock) = lock.filter(|_| !paths.is_empty()) {
                out.push_str(&format!(
                    "    cache:\n      key: \"{id}-${{{{ hashFiles('{lock}') }}}}\"\n      restore-keys: [\"{id}-\"]\n      paths: [{}]\n",
                    paths.join(", ")
                ));
            }
            out.push_str("    steps:\n");
            for command in commands {
                out.push_str(&format!("      - run: {}\n", yaml_string(&command)));
            }
        }
    }
    if !any {
        out.push_str("  check:\n    stage: validate\n    timeout: 10m\n    steps:\n      - run: echo \"replace me with your checks\"\n");
    }
    out
}

/// A plain YAML scalar when safe, otherwise a double-quoted one.
fn yaml_string(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " -_./=&|>~'".contains(c))
        && !text.starts_with(['-', '&', '|', '>', '\'', ' ', '~'])
        && !text.ends_with(' ')
        && !matches!(
            text,
            "true" | "false" | "null" | "on" | "off" | "yes" | "no"
        )
        && text.parse::<f64>().is_err();
    if plain {
        text.to_string()
    } else {
        serde_json::to_string(text).unwrap_or_default()
    }
}

pub fn run(args: &InitArgs) -> anyhow::Result<Outcome> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let root = slipway_vcs::toplevel(&cwd).unwrap_or_else(|_| cwd.clone());
    let target = root.join(DEFAULT_FILE);
    if target.exists() && !args.force {
        bail!(
            "{} already exists\n  hint: pass --force to overwrite it",
            target.display()
        );
    }
    let text = starter(&root);
    let loaded = slipway_pipeline::load(DEFAULT_FILE, &text, &slipway_pipeline::NoTemplates);
    if loaded.has_errors() {
        bail!(
            "the generated pipeline does not lint (a bug in `init`): {:?}",
            loaded.diagnostics
        );
    }
    write_atomically(&target, &text)?;
    add_to_gitignore(&root)?;
    // Editors read the schema named by the modeline; the state directory is local, so
    // `init` (and `slipway schema > .slipway/schema.json`) puts a fresh copy there.
    let state = root.join(".slipway");
    std::fs::create_dir_all(&state)
        .with_context(|| format!("cannot create {}", state.display()))?;
    let schema = serde_json::to_string_pretty(&slipway_pipeline::schema::pipeline_schema())?;
    write_atomically(&state.join("schema.json"), &schema)?;
    let kinds: Vec<String> = detect(&root)
        .iter()
        .map(|p| format!("{p:?}").to_lowercase())
        .collect();
    println!(
        "wrote {} ({})",
        target.display(),
        if kinds.is_empty() {
            "no known project files found: a placeholder job".to_string()
        } else {
            format!("detected: {}", kinds.join(", "))
        }
    );
    println!("next: `slipway lint`, then `slipway plan`");
    Ok(Outcome::Success)
}

/// Writes through a temporary file and a rename, so a crash never leaves half a file.
pub fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move {} into place", path.display()))?;
    Ok(())
}

/// What `.gitignore` gets: the state directory (run history, caches, keys) never belongs in
/// the repository; the configuration beside it (waivers, the secrets allowlist, policies and
/// their overrides) does.
const GITIGNORE_LINES: &str = "/.slipway/*\n!/.slipway/waivers.yml\n!/.slipway/secrets-allow.yml\n!/.slipway/policies/\n!/.slipway/policy.yml\n";

fn add_to_gitignore(root: &Path) -> anyhow::Result<()> {
    let path = root.join(".gitignore");
    let existing = std::fs::read_to_string(&path).unwrap_or_default();
    if existing.lines().any(|l| {
        matches!(
            l.trim(),
            ".slipway" | ".slipway/" | "/.slipway" | "/.slipway/" | "/.slipway/*"
        )
    }) {
        return Ok(());
    }
    let mut text = existing;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(GITIGNORE_LINES);
    write_atomically(&path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starters_lint_clean_for_every_project_kind() {
        let dir = tempfile::tempdir().unwrap();
        for (file, text) in [
            ("Cargo.toml", "[package]\nname = \"x\"\n"),
            ("Cargo.lock", ""),
            (
                "package.json",
                r#"{"scripts": {"lint": "eslint .", "build": "tsc", "test": "jest"}}"#,
            ),
            ("package-lock.json", "{}"),
            ("requirements.txt", "requests==2.32.0\n"),
            ("go.mod", "module x\n"),
        ] {
            std::fs::write(dir.path().join(file), text).unwrap();
        }
        assert_eq!(
            detect(dir.path()),
            [Project::Cargo, Project::Npm, Project::Python, Project::Go]
        );
        let text = starter(dir.path());
        let loaded = slipway_pipeline::load("slipway.yml", &text, &slipway_pipeline::NoTemplates);
        assert!(
            loaded.diagnostics.is_empty(),
            "{text}\n{:?}",
            loaded.diagnostics
        );
        for job in [
            "fmt",
            "clippy",
            "test",
            "build",
            "npm-lint",
            "npm-test",
            "npm-build",
            "pytest",
            "go-vet",
            "go-test",
        ] {
            assert!(
                loaded.pipeline.jobs.as_ref().unwrap().contains_key(job),
                "{job}"
            );
        }
    }

    #[test]
    fn quotes_what_yaml_would_misread() {
        assert_eq!(yaml_string("cargo test"), "cargo test");
        assert_eq!(yaml_string("on"), "\"on\"");
        assert_eq!(yaml_string("1.5"), "\"1.5\"");
        assert_eq!(yaml_string("a: b"), "\"a: b\"");
        assert_eq!(yaml_string("echo \"x\""), "\"echo \\\"x\\\"\"");
    }
}
