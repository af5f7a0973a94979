//! CycloneDX 1.6 JSON: own serde model for writing, a lenient one for reading back.
//!
//! Writing is deterministic: struct field order fixes key order, the inventory is already
//! sorted, and the serial number is a hash of the document written with a zero serial.

use crate::document::content_uuid;
use crate::{Component, DocumentInfo, Error, Inventory, Scope};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

const SCHEMA: &str = "http://cyclonedx.org/schema/bom-1.6.schema.json";
const ZERO_UUID: &str = "00000000-0000-0000-0000-000000000000";

#[derive(Serialize)]
struct Bom<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    #[serde(rename = "bomFormat")]
    bom_format: &'static str,
    #[serde(rename = "specVersion")]
    spec_version: &'static str,
    #[serde(rename = "serialNumber")]
    serial_number: String,
    version: u32,
    metadata: Metadata<'a>,
    components: Vec<BomComponent<'a>>,
    dependencies: Vec<Dependency<'a>>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    timestamp: &'a str,
    tools: Tools<'a>,
    component: BomComponent<'a>,
}

#[derive(Serialize)]
struct Tools<'a> {
    components: [Tool<'a>; 1],
}

#[derive(Serialize)]
struct Tool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
    version: &'a str,
}

#[derive(Serialize)]
struct BomComponent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref")]
    bom_ref: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'a str>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<BomHash<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<BomProperty<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<Evidence<'a>>,
}

#[derive(Serialize)]
struct BomHash<'a> {
    alg: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct BomProperty<'a> {
    name: &'a str,
    value: &'a str,
}

/// Where a component was seen: the lockfiles, databases or binaries it came from.
#[derive(Serialize)]
struct Evidence<'a> {
    occurrences: Vec<Occurrence<'a>>,
}

#[derive(Serialize)]
struct Occurrence<'a> {
    location: &'a str,
}

#[derive(Serialize)]
struct Dependency<'a> {
    #[serde(rename = "ref")]
    reference: String,
    #[serde(rename = "dependsOn")]
    depends_on: Vec<&'a str>,
}

pub(crate) fn render(inventory: &Inventory, info: &DocumentInfo) -> Vec<u8> {
    let mut bom = model(inventory, info);
    let draft = to_bytes(&bom);
    bom.serial_number = format!("urn:uuid:{}", content_uuid(&draft));
    to_bytes(&bom)
}

fn to_bytes(bom: &Bom) -> Vec<u8> {
    // Serializing plain structs of strings and numbers into memory cannot fail.
    let mut bytes = serde_json::to_vec_pretty(bom).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

fn model<'a>(inventory: &'a Inventory, info: &'a DocumentInfo) -> Bom<'a> {
    let subject_ref = info.subject_ref();
    let subject = BomComponent {
        kind: "application",
        bom_ref: subject_ref.clone(),
        group: None,
        name: info.subject_name.clone(),
        version: info.subject_version.as_deref(),
        scope: None,
        hashes: info
            .subject_sha256
            .iter()
            .map(|digest| BomHash {
                alg: "SHA-256",
                content: digest.as_str(),
            })
            .collect(),
        purl: None,
        properties: Vec::new(),
        evidence: None,
    };
    let mut components: Vec<BomComponent> = inventory.components.iter().map(component).collect();
    components.extend(inventory.files.iter().map(|file| BomComponent {
        kind: "file",
        bom_ref: format!("file:{}", file.path),
        group: None,
        name: file.path.clone(),
        version: None,
        scope: None,
        hashes: vec![
            BomHash {
                alg: "SHA-1",
                content: &file.sha1,
            },
            BomHash {
                alg: "SHA-256",
                content: &file.sha256,
            },
        ],
        purl: None,
        properties: Vec::new(),
        evidence: None,
    }));
    let mut dependencies = vec![Dependency {
        reference: subject_ref,
        depends_on: roots(&inventory.components),
    }];
    dependencies.extend(inventory.components.iter().filter_map(|component| {
        let depends_on = component.dependencies.as_ref()?;
        Some(Dependency {
            reference: component.purl.clone(),
            depends_on: depends_on.iter().map(String::as_str).collect(),
        })
    }));
    Bom {
        schema: SCHEMA,
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: format!("urn:uuid:{ZERO_UUID}"),
        version: 1,
        metadata: Metadata {
            timestamp: info.timestamp.as_str(),
            tools: Tools {
                components: [Tool {
                    kind: "application",
                    name: "slipway",
                    version: &info.tool_version,
                }],
            },
            component: subject,
        },
        components,
        dependencies,
    }
}

fn component(component: &Component) -> BomComponent<'_> {
    BomComponent {
        kind: "library",
        bom_ref: component.purl.clone(),
        group: component.namespace.as_deref().filter(|_| {
            matches!(
                component.ecosystem,
                crate::Ecosystem::Npm | crate::Ecosystem::Maven | crate::Ecosystem::Composer
            )
        }),
        name: match component.ecosystem {
            crate::Ecosystem::Golang => component.display_name(),
            _ => component.name.clone(),
        },
        version: Some(component.version.as_str()),
        // CycloneDX's default scope is "required"; development-only packages are not part of
        // what runs, which is what "excluded" says.
        scope: (component.scope == Scope::Development).then_some("excluded"),
        hashes: component
            .hashes
            .iter()
            .map(|hash| BomHash {
                alg: hash.algorithm.cyclonedx_name(),
                content: &hash.hex,
            })
            .collect(),
        purl: Some(component.purl.as_str()),
        properties: component
            .properties
            .iter()
            .map(|property| BomProperty {
                name: &property.name,
                value: &property.value,
            })
            .collect(),
        evidence: Some(Evidence {
            occurrences: component
                .sources
                .iter()
                .map(|location| Occurrence { location })
                .collect(),
        }),
    }
}

/// Components nothing else depends on: what the subject depends on directly.
pub(crate) fn roots(components: &[Component]) -> Vec<&str> {
    let depended_on: BTreeSet<&str> = components
        .iter()
        .filter_map(|c| c.dependencies.as_ref())
        .flatten()
        .map(String::as_str)
        .collect();
    components
        .iter()
        .map(|c| c.purl.as_str())
        .filter(|purl| !depended_on.contains(purl))
        .collect()
}

/// What [`read_cyclonedx`] returns: enough of a CycloneDX document to compare what two
/// SBOMs claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BomSummary {
    /// `specVersion`.
    pub spec_version: String,
    /// `serialNumber`, when present.
    pub serial_number: Option<String>,
    /// `metadata.component`: what the document describes.
    pub subject: Option<ReadComponent>,
    /// Every component that is not a file, nested ones included, in document order.
    pub components: Vec<ReadComponent>,
    /// Every component of type `file`.
    pub files: Vec<ReadFile>,
}

impl BomSummary {
    /// The distinct purls of the components.
    pub fn purls(&self) -> BTreeSet<&str> {
        self.components
            .iter()
            .filter_map(|c| c.purl.as_deref())
            .collect()
    }
}

/// A component as a CycloneDX document states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadComponent {
    /// `type` (`library`, `application`, ...).
    pub kind: String,
    /// `bom-ref`.
    pub bom_ref: Option<String>,
    /// `group`.
    pub group: Option<String>,
    /// `name`.
    pub name: String,
    /// `version`.
    pub version: Option<String>,
    /// `purl`.
    pub purl: Option<String>,
    /// `hashes` as `(alg, content)`.
    pub hashes: Vec<(String, String)>,
}

/// A `file` component: its path and SHA-256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadFile {
    /// `name` (the path).
    pub path: String,
    /// The `SHA-256` hash, when listed.
    pub sha256: Option<String>,
}

#[derive(Deserialize)]
struct ReadBom {
    #[serde(rename = "bomFormat")]
    bom_format: String,
    #[serde(rename = "specVersion")]
    spec_version: String,
    #[serde(rename = "serialNumber")]
    serial_number: Option<String>,
    metadata: Option<ReadMetadata>,
    #[serde(default)]
    components: Vec<ReadBomComponent>,
}

#[derive(Deserialize)]
struct ReadMetadata {
    component: Option<ReadBomComponent>,
}

#[derive(Deserialize)]
struct ReadBomComponent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "bom-ref")]
    bom_ref: Option<String>,
    group: Option<String>,
    name: String,
    version: Option<String>,
    purl: Option<String>,
    #[serde(default)]
    hashes: Vec<ReadHash>,
    #[serde(default)]
    components: Vec<ReadBomComponent>,
}

#[derive(Deserialize)]
struct ReadHash {
    alg: String,
    content: String,
}

impl ReadBomComponent {
    fn summary(&self) -> ReadComponent {
        ReadComponent {
            kind: self.kind.clone(),
            bom_ref: self.bom_ref.clone(),
            group: self.group.clone(),
            name: self.name.clone(),
            version: self.version.clone(),
            purl: self.purl.clone(),
            hashes: self
                .hashes
                .iter()
                .map(|h| (h.alg.clone(), h.content.clone()))
                .collect(),
        }
    }
}

/// Reads a CycloneDX JSON document (any 1.x version) far enough to compare component sets.
pub fn read_cyclonedx(bytes: &[u8]) -> Result<BomSummary, Error> {
    const LABEL: &str = "CycloneDX document";
    const HINT: &str = "give a CycloneDX JSON document (bomFormat \"CycloneDX\")";
    let bom: ReadBom =
        serde_json::from_slice(bytes).map_err(|error| Error::json(LABEL, &error, HINT))?;
    if bom.bom_format != "CycloneDX" {
        return Err(Error::invalid(
            LABEL,
            format!("bomFormat is \"{}\", not \"CycloneDX\"", bom.bom_format),
            HINT,
        ));
    }
    let mut summary = BomSummary {
        spec_version: bom.spec_version,
        serial_number: bom.serial_number,
        subject: bom.metadata.and_then(|m| m.component).map(|c| c.summary()),
        components: Vec::new(),
        files: Vec::new(),
    };
    // Nested components are flattened with an explicit stack: depth is attacker-controlled,
    // but serde_json's recursion limit already bounds it.
    let mut stack: Vec<&ReadBomComponent> = bom.components.iter().rev().collect();
    while let Some(component) = stack.pop() {
        if component.kind == "file" {
            summary.files.push(ReadFile {
                path: component.name.clone(),
                sha256: component
                    .hashes
                    .iter()
                    .find(|h| h.alg == "SHA-256")
                    .map(|h| h.content.clone()),
            });
        } else {
            summary.components.push(component.summary());
        }
        stack.extend(component.components.iter().rev());
    }
    Ok(summary)
}
