//! Canonical package URLs, through the `packageurl` crate (percent-encoding, qualifier order,
//! per-type case rules), plus the per-ecosystem name splitting it leaves to the caller.

use packageurl::PackageUrl;

/// A purl, or `None` when the parts cannot form one (an empty name, a namespace where the
/// type forbids one).
pub(crate) fn build(
    ty: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> Option<String> {
    let mut purl = PackageUrl::new(ty, name).ok()?;
    if let Some(namespace) = namespace.filter(|n| !n.is_empty()) {
        purl.with_namespace(namespace).ok()?;
    }
    if !version.is_empty() {
        purl.with_version(version).ok()?;
    }
    for (key, value) in qualifiers {
        // The spec drops qualifiers with empty values from the canonical form.
        if !value.is_empty() {
            purl.add_qualifier(*key, *value).ok()?;
        }
    }
    Some(purl.to_string())
}

/// An npm package name split into scope (with its `@`) and name: `@types/node` gives
/// `(Some("@types"), "node")`.
pub(crate) fn npm_parts(full_name: &str) -> (Option<&str>, &str) {
    match full_name.split_once('/') {
        Some((scope, name)) if scope.starts_with('@') => (Some(scope), name),
        _ => (None, full_name),
    }
}

/// `pkg:npm/...` for a full npm name (`@scope/name` or `name`).
pub(crate) fn npm(full_name: &str, version: &str) -> Option<String> {
    let (scope, name) = npm_parts(full_name);
    build("npm", scope, name, version, &[])
}

/// PEP 503 normalisation of a Python distribution name: lowercase, and every run of `-`, `_`
/// and `.` becomes one `-` (`Zope.Interface` is `zope-interface`).
pub fn pypi_normalize(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    let mut in_separator = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            in_separator = true;
            continue;
        }
        if in_separator && !normalized.is_empty() {
            normalized.push('-');
        }
        in_separator = false;
        normalized.extend(c.to_lowercase());
    }
    normalized
}

/// `pkg:pypi/...` with the PEP 503 normalised name.
pub(crate) fn pypi(name: &str, version: &str) -> Option<String> {
    build("pypi", None, &pypi_normalize(name), version, &[])
}

/// A Go module path split at its last `/` into namespace and name.
pub(crate) fn golang_parts(module: &str) -> (Option<&str>, &str) {
    match module.rsplit_once('/') {
        Some((namespace, name)) => (Some(namespace), name),
        None => (None, module),
    }
}

/// `pkg:golang/<module path>@<version>`.
pub(crate) fn golang(module: &str, version: &str) -> Option<String> {
    let (namespace, name) = golang_parts(module);
    build("golang", namespace, name, version, &[])
}

/// The purl without its qualifiers and subpath: the identity peers agree on.
pub fn strip_qualifiers(purl: &str) -> &str {
    let end = purl.find(['?', '#']).unwrap_or(purl.len());
    &purl[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        assert_eq!(
            npm("@angular/core", "17.0.0").unwrap(),
            "pkg:npm/%40angular/core@17.0.0"
        );
        assert_eq!(npm("lodash", "4.17.21").unwrap(), "pkg:npm/lodash@4.17.21");
        assert_eq!(
            pypi("Django_AllAuth", "0.58.2").unwrap(),
            "pkg:pypi/django-allauth@0.58.2"
        );
        assert_eq!(
            pypi("zope.interface", "6.0").unwrap(),
            "pkg:pypi/zope-interface@6.0"
        );
        assert_eq!(
            golang("github.com/gorilla/context", "v1.1.1").unwrap(),
            "pkg:golang/github.com/gorilla/context@v1.1.1"
        );
        assert_eq!(
            build(
                "maven",
                Some("org.apache.commons"),
                "commons-lang3",
                "3.12.0",
                &[]
            )
            .unwrap(),
            "pkg:maven/org.apache.commons/commons-lang3@3.12.0"
        );
        assert_eq!(
            build(
                "deb",
                Some("debian"),
                "curl",
                "7.50.3-1",
                &[("arch", "i386"), ("distro", "jessie")]
            )
            .unwrap(),
            "pkg:deb/debian/curl@7.50.3-1?arch=i386&distro=jessie"
        );
        assert_eq!(
            build("deb", Some("debian"), "attr", "1:2.4.47-2", &[]).unwrap(),
            "pkg:deb/debian/attr@1:2.4.47-2",
            "the epoch is kept"
        );
        assert_eq!(
            build("cargo", None, "rand", "0.7.2", &[]).unwrap(),
            "pkg:cargo/rand@0.7.2"
        );
        assert_eq!(
            build(
                "gem",
                None,
                "nokogiri",
                "1.15.0",
                &[("platform", "x86_64-linux")]
            )
            .unwrap(),
            "pkg:gem/nokogiri@1.15.0?platform=x86_64-linux"
        );
        assert_eq!(
            build("npm", None, "a", "1.0.0+build", &[]).unwrap(),
            "pkg:npm/a@1.0.0%2Bbuild",
            "`+` is percent-encoded"
        );
        assert!(
            build("cargo", Some("x"), "rand", "1", &[]).is_none(),
            "cargo has no namespace"
        );
        assert!(build("npm", None, "", "1", &[]).is_none());
    }

    #[test]
    fn pep503_collapses_separator_runs() {
        assert_eq!(pypi_normalize("Foo__Bar-.baz"), "foo-bar-baz");
        assert_eq!(pypi_normalize("ruamel.yaml.clib"), "ruamel-yaml-clib");
    }

    #[test]
    fn qualifiers_are_stripped_for_comparison() {
        assert_eq!(
            strip_qualifiers("pkg:deb/debian/curl@7.50.3-1?arch=i386#sub"),
            "pkg:deb/debian/curl@7.50.3-1"
        );
        assert_eq!(strip_qualifiers("pkg:cargo/a@1"), "pkg:cargo/a@1");
    }
}
