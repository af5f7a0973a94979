//! Finding the pipeline file and reading the templates it includes.

use anyhow::{Context, bail};
use slipway_pipeline::{ResolvedTemplate, TemplateRef, TemplateResolver};
use std::path::{Path, PathBuf};

pub const DEFAULT_FILE: &str = "slipway.yml";

/// A pipeline file read from disk.
pub struct PipelineFile {
    /// The name diagnostics use: the path as the user would type it.
    pub display: String,
    pub text: String,
    /// The repository the file belongs to (its git work tree, else its directory).
    pub root: PathBuf,
    pub in_git: bool,
}

impl PipelineFile {
    /// Reads `--file`, or `slipway.yml` in the current directory, else at the repository root.
    pub fn locate(file: Option<&Path>) -> anyhow::Result<PipelineFile> {
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let path = match file {
            Some(path) => path.to_path_buf(),
            None => {
                let here = cwd.join(DEFAULT_FILE);
                // Ask git for the root only when the file is not right here.
                let top = (!here.exists())
                    .then(|| slipway_vcs::toplevel(&cwd).ok())
                    .flatten()
                    .map(|t| t.join(DEFAULT_FILE));
                match top.filter(|t| t.exists()) {
                    Some(top) => top,
                    None if here.exists() => here,
                    None => bail!(
                        "no {DEFAULT_FILE} in {} or at the repository root\n  hint: create one with `slipway init`, or pass `--file PATH`",
                        cwd.display()
                    ),
                }
            }
        };
        let text =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let text = String::from_utf8(text).map_err(|e| {
            anyhow::anyhow!(
                "{} is not UTF-8 text (invalid byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            )
        })?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let (root, in_git) = match slipway_vcs::toplevel(dir) {
            Ok(top) => (top, true),
            Err(_) => (
                dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()),
                false,
            ),
        };
        Ok(PipelineFile {
            display: display_path(&path, &cwd),
            text,
            root,
            in_git,
        })
    }

    pub fn load(&self) -> slipway_pipeline::Loaded {
        let resolver = RepoTemplates {
            root: self.root.clone(),
            cache: self.root.join(".slipway").join("templates"),
        };
        slipway_pipeline::load(&self.display, &self.text, &resolver)
    }
}

fn display_path(path: &Path, cwd: &Path) -> String {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd.join(path)
    };
    let shown = absolute
        .strip_prefix(cwd)
        .map(Path::to_path_buf)
        .unwrap_or(absolute);
    shown.display().to_string()
}

/// Local templates come from the repository; git templates from a cache of pinned fetches.
struct RepoTemplates {
    root: PathBuf,
    cache: PathBuf,
}

impl TemplateResolver for RepoTemplates {
    fn resolve(&self, reference: &TemplateRef) -> Result<ResolvedTemplate, String> {
        match reference {
            TemplateRef::Local(path) => {
                let full = self.root.join(path);
                let canonical = full
                    .canonicalize()
                    .map_err(|e| format!("{}: {e}", full.display()))?;
                let root = self
                    .root
                    .canonicalize()
                    .unwrap_or_else(|_| self.root.clone());
                if !canonical.starts_with(&root) {
                    return Err("the path leaves the repository".into());
                }
                let text = std::fs::read_to_string(&canonical)
                    .map_err(|e| format!("{}: {e}", full.display()))?;
                let cwd = std::env::current_dir().unwrap_or_default();
                Ok(ResolvedTemplate {
                    name: display_path(&full, &cwd),
                    text,
                    revision: None,
                })
            }
            TemplateRef::Git {
                url,
                path,
                reference,
            } => {
                let (text, commit) = slipway_vcs::fetch_file(&self.cache, url, reference, path)
                    .map_err(|e| e.to_string())?;
                Ok(ResolvedTemplate {
                    name: format!("{url}//{path}@{reference}"),
                    text,
                    revision: Some(commit),
                })
            }
        }
    }
}
