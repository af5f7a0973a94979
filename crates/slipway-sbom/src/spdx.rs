//! SPDX 2.3 JSON: own serde model. The subject is the described package; components are
//! packages with a purl external reference; artifact files are `files` the subject
//! CONTAINS. The namespace ends in a hash of the document written with a zero id.

use crate::document::content_uuid;
use crate::{DocumentInfo, Inventory, Scope};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

const ZERO_UUID: &str = "00000000-0000-0000-0000-000000000000";
const NAMESPACE_BASE: &str = "https://slipway.example/spdx";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo<'a>,
    packages: Vec<Package<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    files: Vec<File<'a>>,
    relationships: Vec<Relationship>,
}

#[derive(Serialize)]
struct CreationInfo<'a> {
    created: &'a str,
    creators: [String; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Package<'a> {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    primary_package_purpose: Option<&'static str>,
    download_location: &'static str,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    package_verification_code: Option<VerificationCode>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum<'a> {
    algorithm: &'static str,
    checksum_value: &'a str,
}

/// SPDX's seal over a package's files: the SHA-1 of their sorted SHA-1s, concatenated.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VerificationCode {
    package_verification_code_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef<'a> {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct File<'a> {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    file_name: String,
    checksums: [Checksum<'a>; 2],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

pub(crate) fn render(inventory: &Inventory, info: &DocumentInfo) -> Vec<u8> {
    let mut document = model(inventory, info);
    let draft = to_bytes(&document);
    document.document_namespace = namespace(info, &content_uuid(&draft));
    to_bytes(&document)
}

fn to_bytes(document: &Document) -> Vec<u8> {
    // Serializing plain structs of strings and booleans into memory cannot fail.
    let mut bytes = serde_json::to_vec_pretty(document).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

fn document_name(info: &DocumentInfo) -> String {
    match &info.subject_version {
        Some(version) => format!("{}-{version}", info.subject_name),
        None => info.subject_name.clone(),
    }
}

fn namespace(info: &DocumentInfo, uuid: &str) -> String {
    format!("{NAMESPACE_BASE}/{}-{uuid}", sanitize(&document_name(info)))
}

fn model<'a>(inventory: &'a Inventory, info: &'a DocumentInfo) -> Document<'a> {
    let mut ids = Ids::default();
    let subject_id = ids.assign("Package", &format!("subject-{}", info.subject_name));
    // An artifact's files are the subject's own: listing them is what "analyzed" means.
    let files_analyzed = !inventory.files.is_empty();
    let mut packages = vec![Package {
        spdx_id: subject_id.clone(),
        name: info.subject_name.clone(),
        version_info: info.subject_version.as_deref(),
        primary_package_purpose: Some("APPLICATION"),
        download_location: "NOASSERTION",
        files_analyzed,
        package_verification_code: files_analyzed.then(|| verification_code(inventory)),
        checksums: info
            .subject_sha256
            .iter()
            .map(|digest| Checksum {
                algorithm: "SHA256",
                checksum_value: digest.as_str(),
            })
            .collect(),
        source_info: None,
        external_refs: Vec::new(),
    }];
    let mut id_of_purl: BTreeMap<&str, String> = BTreeMap::new();
    for component in &inventory.components {
        let id = ids.assign("Package", &component.purl);
        id_of_purl.insert(&component.purl, id.clone());
        packages.push(Package {
            spdx_id: id,
            name: component.display_name(),
            version_info: Some(&component.version),
            primary_package_purpose: Some("LIBRARY"),
            download_location: "NOASSERTION",
            files_analyzed: false,
            package_verification_code: None,
            checksums: component
                .hashes
                .iter()
                .map(|hash| Checksum {
                    algorithm: hash.algorithm.spdx_name(),
                    checksum_value: &hash.hex,
                })
                .collect(),
            source_info: Some(format!("found in {}", component.sources.join(", "))),
            external_refs: vec![ExternalRef {
                reference_category: "PACKAGE-MANAGER",
                reference_type: "purl",
                reference_locator: &component.purl,
            }],
        });
    }
    let files: Vec<File> = inventory
        .files
        .iter()
        .map(|file| File {
            spdx_id: ids.assign("File", &file.path),
            file_name: format!("./{}", file.path),
            checksums: [
                Checksum {
                    algorithm: "SHA1",
                    checksum_value: &file.sha1,
                },
                Checksum {
                    algorithm: "SHA256",
                    checksum_value: &file.sha256,
                },
            ],
        })
        .collect();
    let mut relationships = vec![Relationship {
        spdx_element_id: "SPDXRef-DOCUMENT".into(),
        relationship_type: "DESCRIBES",
        related_spdx_element: subject_id.clone(),
    }];
    let scope_of: BTreeMap<&str, Scope> = inventory
        .components
        .iter()
        .map(|c| (c.purl.as_str(), c.scope))
        .collect();
    for root in crate::cyclonedx::roots(&inventory.components) {
        let Some(root_id) = id_of_purl.get(root) else {
            continue;
        };
        relationships.push(match scope_of.get(root) {
            Some(Scope::Development) => Relationship {
                spdx_element_id: root_id.clone(),
                relationship_type: "DEV_DEPENDENCY_OF",
                related_spdx_element: subject_id.clone(),
            },
            _ => Relationship {
                spdx_element_id: subject_id.clone(),
                relationship_type: "DEPENDS_ON",
                related_spdx_element: root_id.clone(),
            },
        });
    }
    for component in &inventory.components {
        let (Some(from), Some(dependencies)) = (
            id_of_purl.get(component.purl.as_str()),
            &component.dependencies,
        ) else {
            continue;
        };
        for dependency in dependencies {
            if let Some(to) = id_of_purl.get(dependency.as_str()) {
                relationships.push(Relationship {
                    spdx_element_id: from.clone(),
                    relationship_type: "DEPENDS_ON",
                    related_spdx_element: to.clone(),
                });
            }
        }
    }
    for file in &files {
        relationships.push(Relationship {
            spdx_element_id: subject_id.clone(),
            relationship_type: "CONTAINS",
            related_spdx_element: file.spdx_id.clone(),
        });
    }
    Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: document_name(info),
        document_namespace: namespace(info, ZERO_UUID),
        creation_info: CreationInfo {
            created: info.timestamp.as_str(),
            creators: [format!("Tool: slipway-{}", info.tool_version)],
        },
        packages,
        files,
        relationships,
    }
}

fn verification_code(inventory: &Inventory) -> VerificationCode {
    let mut digests: Vec<&str> = inventory.files.iter().map(|f| f.sha1.as_str()).collect();
    digests.sort_unstable();
    let mut hasher = sha1::Sha1::new();
    for digest in digests {
        hasher.update(digest.as_bytes());
    }
    VerificationCode {
        package_verification_code_value: hex::encode(hasher.finalize()),
    }
}

/// Replaces every character SPDX identifiers do not allow (`[A-Za-z0-9.-]` only) with `-`.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Hands out unique `SPDXRef-<kind>-<sanitized>` ids; two keys that sanitize alike are told
/// apart by a hash of the original key, so ids stay stable across runs.
#[derive(Default)]
struct Ids {
    used: BTreeSet<String>,
}

impl Ids {
    fn assign(&mut self, kind: &str, key: &str) -> String {
        let mut id = format!("SPDXRef-{kind}-{}", sanitize(key));
        if self.used.contains(&id) {
            let digest = hex::encode(Sha256::digest(key.as_bytes()));
            id = format!("{id}-{}", digest.get(..12).unwrap_or_default());
        }
        self.used.insert(id.clone());
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_sanitized_and_unique() {
        let mut ids = Ids::default();
        let first = ids.assign("Package", "pkg:npm/%40a/b@1.0.0");
        assert_eq!(first, "SPDXRef-Package-pkg-npm--40a-b-1.0.0");
        let second = ids.assign("Package", "pkg:npm/%40a/b-1.0.0");
        assert_ne!(first, second);
        assert!(second.starts_with(&first));
    }
}
