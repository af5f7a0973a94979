//! `go.mod` (the module's requirements, with `replace` directives applied) and `go.sum`.
//!
//! A `go.sum` `h1:` value is a hash over a module's file tree (dirhash), not the SHA-256 of
//! any downloadable file, so it is kept as the property `slipway:golang:h1`, never as a hash.

use super::Parsed;
use crate::{Component, Ecosystem, Error, purl};
use std::collections::BTreeMap;

const HINT: &str = "check it with `go mod tidy`";

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Module {
    path: String,
    /// `None` for a replacement by a local directory.
    version: Option<String>,
}

pub(crate) fn parse(path: &str, text: &str, go_sum: Option<(&str, &str)>) -> Result<Parsed, Error> {
    let mut requires: Vec<(Module, bool, usize)> = Vec::new();
    let mut replaces: BTreeMap<Module, Module> = BTreeMap::new();
    let mut block: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_number = index + 1;
        let (code, comment) = match raw.find("//") {
            Some(at) => (&raw[..at], &raw[at + 2..]),
            None => (raw, ""),
        };
        let indirect = comment.trim() == "indirect" || comment.trim().starts_with("indirect;");
        let words = tokens(code).map_err(|column| {
            Error::syntax(
                path,
                (line_number, column),
                "unterminated quoted string",
                HINT,
            )
        })?;
        let Some(first) = words.first() else {
            continue;
        };
        let (verb, arguments) = match &block {
            Some(_) if first == ")" => {
                block = None;
                continue;
            }
            Some(verb) => (verb.clone(), &words[..]),
            None if words.get(1).is_some_and(|w| w == "(") => {
                block = Some(first.clone());
                continue;
            }
            None => (first.clone(), words.get(1..).unwrap_or_default()),
        };
        let column = raw.len() - raw.trim_start().len() + 1;
        match verb.as_str() {
            "require" => match arguments {
                [module, version] => requires.push((
                    Module {
                        path: module.clone(),
                        version: Some(version.clone()),
                    },
                    indirect,
                    line_number,
                )),
                _ => {
                    return Err(Error::syntax(
                        path,
                        (line_number, column),
                        "a require needs a module path and a version",
                        HINT,
                    ));
                }
            },
            "replace" => {
                let (old, new) = replacement(arguments).ok_or_else(|| {
                    Error::syntax(
                        path,
                        (line_number, column),
                        "a replace needs `old [version] => new [version]`",
                        HINT,
                    )
                })?;
                replaces.insert(old, new);
            }
            _ => {}
        }
    }
    if block.is_some() {
        return Err(Error::syntax(
            path,
            crate::text::line_col(text, text.len()),
            "a `(` block is not closed",
            HINT,
        ));
    }
    let sums = go_sum.map(|(_, text)| read_sums(text)).unwrap_or_default();
    let mut parsed = Parsed::default();
    for (module, indirect, line_number) in requires {
        // A replacement of one version wins over a replacement of every version.
        let any_version = Module {
            path: module.path.clone(),
            version: None,
        };
        let effective = replaces
            .get(&module)
            .or_else(|| replaces.get(&any_version))
            .cloned()
            .unwrap_or(module);
        let Some(version) = effective.version.as_deref() else {
            parsed.skip(
                path,
                Some(line_number),
                format!("{}: replaced by the local directory", effective.path),
            );
            continue;
        };
        let Some(purl) = purl::golang(&effective.path, version) else {
            parsed.skip(
                path,
                Some(line_number),
                format!("{}: no package URL", effective.path),
            );
            continue;
        };
        let (namespace, name) = purl::golang_parts(&effective.path);
        let mut component = Component::new(
            Ecosystem::Golang,
            namespace.map(str::to_string),
            name,
            version,
            purl,
            path,
        );
        if indirect {
            component.property("slipway:golang:indirect", "true");
        }
        if let Some(h1) = sums.get(&(effective.path.as_str(), version)) {
            component.property("slipway:golang:h1", *h1);
            if let Some((sum_path, _)) = go_sum {
                component.sources.push(sum_path.to_string());
            }
        }
        parsed.components.push(component);
    }
    Ok(parsed)
}

/// Splits a line into words; Go allows `"quoted"` and `` `raw` `` paths. Err is the column
/// of an unterminated quote.
fn tokens(code: &str) -> Result<Vec<String>, usize> {
    let mut words = Vec::new();
    let mut chars = code.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '"' || c == '`' {
            chars.next();
            let mut word = String::new();
            let mut closed = false;
            while let Some((_, next)) = chars.next() {
                if next == c {
                    closed = true;
                    break;
                }
                if next == '\\' && c == '"' {
                    if let Some((_, escaped)) = chars.next() {
                        word.push(escaped);
                    }
                    continue;
                }
                word.push(next);
            }
            if !closed {
                return Err(code[..start].chars().count() + 1);
            }
            words.push(word);
            continue;
        }
        let mut word = String::new();
        while let Some(&(_, next)) = chars.peek() {
            if next.is_whitespace() {
                break;
            }
            // `(` and `)` stand alone even when written against a word.
            if (next == '(' || next == ')') && !word.is_empty() {
                break;
            }
            word.push(next);
            chars.next();
            if next == '(' || next == ')' {
                break;
            }
        }
        words.push(word);
    }
    Ok(words)
}

fn replacement(arguments: &[String]) -> Option<(Module, Module)> {
    let arrow = arguments.iter().position(|w| w == "=>")?;
    let module = |words: &[String]| -> Option<Module> {
        match words {
            [path] => Some(Module {
                path: path.clone(),
                version: None,
            }),
            [path, version] => Some(Module {
                path: path.clone(),
                version: Some(version.clone()),
            }),
            _ => None,
        }
    };
    let old = module(arguments.get(..arrow)?)?;
    let new = module(arguments.get(arrow + 1..)?)?;
    Some((old, new))
}

/// `(module, version)` → `h1:...` for module zips (the `/go.mod` lines hash only go.mod).
fn read_sums(text: &str) -> BTreeMap<(&str, &str), &str> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let (module, version, hash) = (words.next()?, words.next()?, words.next()?);
            (!version.ends_with("/go.mod") && hash.starts_with("h1:"))
                .then_some(((module, version), hash))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO_MOD: &str = r#"module example.com/app

go 1.22

require (
	github.com/gin-gonic/gin v1.10.0
	golang.org/x/net v0.25.0 // indirect
	"github.com/old/lib" v1.0.0
	github.com/local/thing v0.1.0
)

require github.com/Masterminds/semver/v3 v3.2.1

replace github.com/old/lib => github.com/new/lib v1.2.0
replace github.com/local/thing v0.1.0 => ../thing
"#;

    const GO_SUM: &str = "\
github.com/gin-gonic/gin v1.10.0 h1:nTuyha1TYqgedzytsKYqna+DfLos46nTv2ygFy86HFU=
github.com/gin-gonic/gin v1.10.0/go.mod h1:4PMNQiOhvDRa013RKVbsiNwoyezlm2rm0uX/T7kzp5Y=
";

    #[test]
    fn requires_replaces_and_sums() {
        let parsed = parse("go.mod", GO_MOD, Some(("go.sum", GO_SUM))).unwrap();
        let purls: Vec<&str> = parsed.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:golang/github.com/gin-gonic/gin@v1.10.0",
                "pkg:golang/golang.org/x/net@v0.25.0",
                "pkg:golang/github.com/new/lib@v1.2.0",
                "pkg:golang/github.com/masterminds/semver/v3@v3.2.1",
            ]
        );
        let gin = &parsed.components[0];
        assert!(gin.hashes.is_empty(), "h1 is not a file hash");
        assert_eq!(gin.properties[0].name, "slipway:golang:h1");
        assert_eq!(gin.sources, ["go.mod", "go.sum"]);
        assert_eq!(
            parsed.components[1].properties[0].name,
            "slipway:golang:indirect"
        );
        assert_eq!(parsed.skipped[0].line, Some(9));
    }

    #[test]
    fn malformed_lines_are_located() {
        let error = parse(
            "svc/go.mod",
            "module a\n\nrequire (\n\t\"unterminated v1\n)\n",
            None,
        )
        .unwrap_err();
        assert!(
            matches!(
                error,
                Error::Syntax {
                    line: 4,
                    column: 2,
                    ..
                }
            ),
            "{error}"
        );
        let error = parse("go.mod", "require a\n", None).unwrap_err();
        assert!(
            matches!(
                error,
                Error::Syntax {
                    line: 1,
                    column: 1,
                    ..
                }
            ),
            "{error}"
        );
        let error = parse("go.mod", "require (\n a v1\n", None).unwrap_err();
        assert!(error.to_string().contains("not closed"), "{error}");
    }
}
