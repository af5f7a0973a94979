//! `pom.xml`: the project's own `<dependencies>` whose versions are literal or resolve
//! through `<properties>` and the project coordinates. Versions that come from a parent or a
//! BOM (`<dependencyManagement>`) are not in the file; those dependencies are reported as
//! skipped.

use super::Parsed;
use crate::{Component, Ecosystem, Error, Scope, purl};
use roxmltree::{Document, Node};
use std::collections::BTreeMap;

const HINT: &str = "fix the XML; `mvn validate` shows the same problem";

/// How deep `${a}` → `${b}` → ... may go before it counts as a cycle.
const MAX_PROPERTY_DEPTH: usize = 16;

pub(crate) fn parse(path: &str, text: &str) -> Result<Parsed, Error> {
    let document = Document::parse(text).map_err(|error| {
        let position = error.pos();
        Error::syntax(
            path,
            (position.row as usize, position.col as usize),
            error.to_string(),
            HINT,
        )
    })?;
    let project = document.root_element();
    if project.tag_name().name() != "project" {
        return Err(Error::invalid(
            path,
            format!(
                "the root element is <{}>, not <project>",
                project.tag_name().name()
            ),
            "a Maven POM starts with <project>",
        ));
    }
    let properties = properties(project);
    let mut parsed = Parsed::default();
    let Some(dependencies) = child(project, "dependencies") else {
        return Ok(parsed);
    };
    for dependency in dependencies
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "dependency")
    {
        let line = document.text_pos_at(dependency.range().start).row as usize;
        let field =
            |name: &str| child_text(dependency, name).map(|value| resolve(value, &properties, 0));
        let (Some(Some(group)), Some(Some(artifact))) = (field("groupId"), field("artifactId"))
        else {
            parsed.skip(
                path,
                Some(line),
                "a dependency without a resolvable groupId and artifactId",
            );
            continue;
        };
        let version = match field("version") {
            None => {
                parsed.skip(
                    path,
                    Some(line),
                    format!("{group}:{artifact}: no version here (managed by a parent or a BOM)"),
                );
                continue;
            }
            Some(None) => {
                parsed.skip(
                    path,
                    Some(line),
                    format!(
                        "{group}:{artifact}: the version uses a property not defined in this file"
                    ),
                );
                continue;
            }
            Some(Some(version)) if version.starts_with(['[', '(']) => {
                parsed.skip(
                    path,
                    Some(line),
                    format!("{group}:{artifact}: a version range is not a version"),
                );
                continue;
            }
            Some(Some(version)) => version,
        };
        let kind = field("type")
            .flatten()
            .filter(|t| t != "jar")
            .unwrap_or_default();
        let classifier = field("classifier").flatten().unwrap_or_default();
        let qualifiers = [("classifier", classifier.as_str()), ("type", kind.as_str())];
        let Some(purl) = purl::build("maven", Some(&group), &artifact, &version, &qualifiers)
        else {
            parsed.skip(
                path,
                Some(line),
                format!("{group}:{artifact}: no package URL"),
            );
            continue;
        };
        let mut component =
            Component::new(Ecosystem::Maven, Some(group), artifact, version, purl, path);
        if field("scope").flatten().as_deref() == Some("test") {
            component.scope = Scope::Development;
        }
        parsed.components.push(component);
    }
    Ok(parsed)
}

fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

fn child_text<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    child(node, name).map(|n| n.text().unwrap_or_default().trim())
}

/// `<properties>` plus the coordinates Maven defines itself.
fn properties(project: Node) -> BTreeMap<String, String> {
    let mut properties = BTreeMap::new();
    let parent = child(project, "parent");
    let coordinate =
        |name: &str| child_text(project, name).or_else(|| parent.and_then(|p| child_text(p, name)));
    for name in ["groupId", "artifactId", "version"] {
        if let Some(value) = coordinate(name) {
            properties.insert(format!("project.{name}"), value.to_string());
            properties.insert(format!("pom.{name}"), value.to_string());
        }
        if let Some(value) = parent.and_then(|p| child_text(p, name)) {
            properties.insert(format!("project.parent.{name}"), value.to_string());
        }
    }
    if let Some(block) = child(project, "properties") {
        for property in block.children().filter(Node::is_element) {
            properties.insert(
                property.tag_name().name().to_string(),
                property.text().unwrap_or_default().trim().to_string(),
            );
        }
    }
    properties
}

/// Substitutes every `${name}`; `None` when a name is undefined or the chain is too deep.
fn resolve(value: &str, properties: &BTreeMap<String, String>, depth: usize) -> Option<String> {
    if depth > MAX_PROPERTY_DEPTH {
        return None;
    }
    let mut resolved = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        resolved.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        let name = &after[..end];
        let substituted = resolve(properties.get(name)?, properties, depth + 1)?;
        resolved.push_str(&substituted);
        rest = &after[end + 1..];
    }
    resolved.push_str(rest);
    Some(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.acme</groupId>
  <artifactId>app</artifactId>
  <version>1.4.2</version>
  <properties>
    <jackson.version>2.17.2</jackson.version>
    <jackson.alias>${jackson.version}</jackson.alias>
  </properties>
  <dependencies>
    <dependency>
      <groupId>com.fasterxml.jackson.core</groupId>
      <artifactId>jackson-databind</artifactId>
      <version>${jackson.alias}</version>
    </dependency>
    <dependency>
      <groupId>${project.groupId}</groupId>
      <artifactId>app-core</artifactId>
      <version>${project.version}</version>
      <classifier>tests</classifier>
      <type>test-jar</type>
      <scope>test</scope>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-api</artifactId>
    </dependency>
    <dependency>
      <groupId>x</groupId>
      <artifactId>y</artifactId>
      <version>${undefined}</version>
    </dependency>
  </dependencies>
  <dependencyManagement><dependencies><dependency>
    <groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.13</version>
  </dependency></dependencies></dependencyManagement>
</project>
"#;

    #[test]
    fn literal_and_property_versions() {
        let parsed = parse("pom.xml", POM).unwrap();
        let purls: Vec<&str> = parsed.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.17.2",
                "pkg:maven/com.acme/app-core@1.4.2?classifier=tests&type=test-jar",
            ]
        );
        assert_eq!(parsed.components[1].scope, Scope::Development);
        let lines: Vec<Option<usize>> = parsed.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [Some(25), Some(29)]);
    }

    #[test]
    fn property_cycles_do_not_recurse_forever() {
        let mut properties = BTreeMap::new();
        properties.insert("a".to_string(), "${b}".to_string());
        properties.insert("b".to_string(), "${a}".to_string());
        assert_eq!(resolve("${a}", &properties, 0), None);
    }

    #[test]
    fn xml_errors_are_located() {
        let error = parse("svc/pom.xml", "<project>\n  <dependencies>\n</project>").unwrap_err();
        assert!(matches!(error, Error::Syntax { line: 3, .. }), "{error}");
    }
}
