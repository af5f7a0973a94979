//! Path globs, as rules and allowlists write them: `*` stays within one directory, `**`
//! crosses directories, and a glob without `/` matches a file name in any directory (the
//! way `.gitignore` reads it).

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// A compiled list of globs over relative, `/`-separated paths.
#[derive(Clone, Debug)]
pub(crate) struct PathMatcher {
    set: GlobSet,
}

impl PathMatcher {
    /// Compiles `globs`; the error names the glob that is malformed and why.
    pub(crate) fn new<S: AsRef<str>>(globs: &[S]) -> Result<PathMatcher, String> {
        let mut builder = GlobSetBuilder::new();
        for glob in globs {
            let glob = glob.as_ref();
            let written = glob.trim_start_matches("./");
            let anchored = if written.contains('/') {
                written.trim_start_matches('/').to_string()
            } else {
                format!("**/{written}")
            };
            let compiled = GlobBuilder::new(&anchored)
                .literal_separator(true)
                .build()
                .map_err(|error| format!("invalid glob {glob:?}: {}", error.kind()))?;
            builder.add(compiled);
        }
        let set = builder
            .build()
            .map_err(|error| format!("invalid globs: {error}"))?;
        Ok(PathMatcher { set })
    }

    /// Whether any glob matches `path`.
    pub(crate) fn is_match(&self, path: &str) -> bool {
        self.set.is_match(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_read_like_gitignore() {
        let matcher =
            PathMatcher::new(&["*.pem", "docs/**", "src/*.rs"]).unwrap_or_else(|e| panic!("{e}"));
        assert!(matcher.is_match("key.pem"));
        assert!(matcher.is_match("deep/dir/key.pem"));
        assert!(matcher.is_match("docs/a/b.md"));
        assert!(matcher.is_match("src/lib.rs"));
        assert!(!matcher.is_match("src/deep/lib.rs"));
        assert!(!matcher.is_match("other/docs/a.md"));
    }

    #[test]
    fn bad_globs_are_named() {
        let error = PathMatcher::new(&["a[b"]).err().unwrap_or_default();
        assert!(error.contains("\"a[b\""), "{error}");
    }
}
