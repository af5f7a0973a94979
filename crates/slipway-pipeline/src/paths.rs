//! Glob patterns of path and branch filters, and matching changed files against them.

use globset::{GlobBuilder, GlobMatcher};

/// Compiles one glob the way every filter in the pipeline file reads it: `*` stays inside a
/// path segment, `**` crosses segments.
pub fn compile_glob(pattern: &str) -> Result<GlobMatcher, String> {
    if pattern.is_empty() {
        return Err("the pattern is empty".into());
    }
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .empty_alternates(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| e.kind().to_string())
}

/// A compiled include/ignore filter pair, as in `paths` / `paths-ignore`.
#[derive(Clone, Debug, Default)]
pub struct PathFilter {
    include: Vec<GlobMatcher>,
    ignore: Vec<GlobMatcher>,
}

impl PathFilter {
    /// Builds a filter; patterns were validated when the file was read, so invalid ones are
    /// dropped here rather than failing twice.
    pub fn new<'a>(
        include: impl IntoIterator<Item = &'a str>,
        ignore: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        PathFilter {
            include: include
                .into_iter()
                .filter_map(|p| compile_glob(p).ok())
                .collect(),
            ignore: ignore
                .into_iter()
                .filter_map(|p| compile_glob(p).ok())
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.ignore.is_empty()
    }

    /// Whether a change touching `files` concerns this filter: some file matches `include`
    /// (when given) and is not matched by `ignore`.
    pub fn affected_by(&self, files: &[String]) -> bool {
        files.iter().any(|file| {
            (self.include.is_empty() || self.include.iter().any(|g| g.is_match(file)))
                && !self.ignore.iter().any(|g| g.is_match(file))
        })
    }
}

/// Whether a name (branch, tag) matches any of the globs; an absent list matches everything.
pub fn name_matches(patterns: Option<&[String]>, name: &str) -> bool {
    match patterns {
        None => true,
        Some(patterns) => patterns
            .iter()
            .filter_map(|p| compile_glob(p).ok())
            .any(|g| g.is_match(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_stays_in_segment() {
        let files = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let filter = PathFilter::new(["src/*"], []);
        assert!(filter.affected_by(&files(&["src/main.rs"])));
        assert!(!filter.affected_by(&files(&["src/a/b.rs"])));
        let filter = PathFilter::new(["src/**"], ["**/*.md"]);
        assert!(filter.affected_by(&files(&["src/a/b.rs"])));
        assert!(!filter.affected_by(&files(&["src/README.md"])));
        let ignore_only = PathFilter::new([], ["docs/**"]);
        assert!(!ignore_only.affected_by(&files(&["docs/a.md"])));
        assert!(ignore_only.affected_by(&files(&["docs/a.md", "src/x.rs"])));
        assert!(compile_glob("src/[").is_err());
        assert!(name_matches(
            Some(&["release/*".to_string()]),
            "release/1.2"
        ));
        assert!(!name_matches(
            Some(&["release/*".to_string()]),
            "release/1/2"
        ));
    }
}
